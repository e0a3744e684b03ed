"""Discussions' figures on the course's Analytics screen (core's ``COURSE_ANALYTICS_FIGURES_HOOK``):
the median time to a first staff answer and the unanswered questions, only where the plugin is on."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from academy.sdk import set_plugin_state
from learning.analytics_figures import course_figures
from plugins.discussions import services
from plugins.discussions.models import Thread
from tests.courses.helpers import Tree
from tests.plugins.discussions.helpers import ask

pytestmark = pytest.mark.django_db


def _figures(html: str) -> dict[str, str]:
    """``data-analytics-figure`` name -> the item's text."""
    found: dict[str, str] = {}

    class Parser(HTMLParser):
        current: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            name = dict(attrs).get("data-analytics-figure")
            if name:
                self.current = name
                found[name] = ""

        def handle_endtag(self, tag: str) -> None:
            if tag == "li":
                self.current = None

        def handle_data(self, data: str) -> None:
            if self.current:
                found[self.current] += data

    Parser().feed(html)
    return found


def _analytics(user: Any, course: Any) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/admin/learning/courses/{course.pk}/analytics/")
    assert response.status_code == 200
    return response.content.decode()


def test_analytics_shows_the_median_time_to_first_staff_answer(tree: Tree, lesson: Any, ada: Any, staff: Any) -> None:
    first, second, _third = (ask(ada, lesson, title=t) for t in ("A", "B", "C"))
    base = timezone.now()
    Thread.objects.filter(pk=first.pk).update(created_at=base - timedelta(minutes=30))
    Thread.objects.filter(pk=second.pk).update(created_at=base - timedelta(minutes=120))
    for thread in (first, second):
        found, where = services.thread_for(staff, thread.pk)
        services.reply_create(user=staff, thread=found, place=where, body="Here", now=base)

    assert _figures(_analytics(staff, tree.python)) == {
        "discussions-median-first-staff-answer": "Median time to first staff answer: 1 h 15 min",
        "discussions-unanswered-questions": "Unanswered questions: 1",
    }
    # A course without questions yet: no median, nothing waiting.
    assert _figures(_analytics(staff, tree.sql)) == {
        "discussions-median-first-staff-answer": "Median time to first staff answer: —",
        "discussions-unanswered-questions": "Unanswered questions: 0",
    }


def test_a_course_with_discussions_off_shows_none_of_its_figures(tree: Tree, lesson: Any, ada: Any, staff: Any) -> None:
    ask(ada, lesson)
    set_plugin_state("discussions", "off", course_id=tree.python.pk)

    html = _analytics(staff, tree.python)
    assert _figures(html) == {}
    assert "data-analytics-figures" not in html
    assert course_figures(tree.python) == []
    # The other course keeps them.
    assert [figure.name for figure in course_figures(tree.sql)] == [
        "discussions-median-first-staff-answer", "discussions-unanswered-questions",
    ]
