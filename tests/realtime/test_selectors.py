"""Reads of the consumers: fixed query counts, exact results; the page's live script tag."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Template

from learning import services
from realtime import groups
from realtime.models import Event
from realtime.publish import CURSOR_CACHE_KEY, publish
from realtime.selectors import (
    ACCESS_FORBIDDEN,
    ACCESS_NOT_FOUND,
    ACCESS_OK,
    course_stream_access,
    events_after,
    outbox_bounds,
)
from tests.realtime.support import build_site, make_user

pytestmark = pytest.mark.django_db


def test_events_after_one_query_only_the_groups_in_id_order(django_assert_num_queries: Any) -> None:
    first = Event.objects.create(group="course.1", type="course.updated", data={"a": 1})
    Event.objects.create(group="course.2", type="course.updated", data={})
    second = Event.objects.create(group="user.1.progress", type="progress.updated", data={"b": 2})
    with django_assert_num_queries(1):
        rows = events_after(groups=["course.1", "user.1.progress"], since=0, limit=10)
    assert rows == [
        (first.pk, f'{{"type":"course.updated","id":{first.pk},"data":{{"a":1}}}}'),
        (second.pk, f'{{"type":"progress.updated","id":{second.pk},"data":{{"b":2}}}}'),
    ]
    with django_assert_num_queries(1):
        assert outbox_bounds() == (first.pk, second.pk)


def test_outbox_bounds_empty_is_zero() -> None:
    assert outbox_bounds() == (0, 0)


def test_course_stream_access_rules(django_assert_num_queries: Any) -> None:
    site = build_site(lessons=1)
    learner, stranger = make_user("ada"), make_user("bob")
    staff = make_user("eve", is_staff=True)
    services.enrollment_request(user=learner, course=site.course)
    services.enrollment_request(user=stranger, course=site.approval_course)
    # The course and the enrollment; its access rules (learning.access: liveness and view
    # restrictions) come from the caches of the page tree and the restrictions, warm since the
    # enrollment asked them.
    with django_assert_num_queries(2):
        assert course_stream_access(user=learner, course_id=site.course.pk) == ACCESS_OK
    assert course_stream_access(user=stranger, course_id=site.course.pk) == ACCESS_FORBIDDEN
    assert course_stream_access(user=stranger, course_id=site.approval_course.pk) == ACCESS_FORBIDDEN
    with django_assert_num_queries(2):
        assert course_stream_access(user=staff, course_id=site.course.pk) == ACCESS_OK
    assert course_stream_access(user=staff, course_id=10**9) == ACCESS_NOT_FOUND
    with django_assert_num_queries(0):
        assert course_stream_access(user=staff, course_id=10**30) == ACCESS_NOT_FOUND
    assert course_stream_access(user=staff, course_id=0) == ACCESS_NOT_FOUND


def test_course_stream_admits_editors_like_the_course_page_does() -> None:
    from django.contrib.auth.models import Group, Permission

    site = build_site(lessons=1)
    editor = make_user("ed")
    editors = Group.objects.create(name="Course editors")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    editor.groups.add(editors)
    assert course_stream_access(user=editor, course_id=site.course.pk) == ACCESS_OK


def test_group_names_are_valid_and_hide_the_session_key() -> None:
    assert groups.user_progress(7) == "user.7.progress"
    assert groups.user_notifications(7) == "user.7.notifications"
    assert groups.course(3) == "course.3"
    name = groups.session("abc123secret")
    assert name.startswith("session.") and "abc123secret" not in name and len(name) == 48


def test_live_script_cursor_comes_from_the_outbox_on_a_cache_miss_then_from_the_cache(
    django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    from django.core.cache import cache

    template = Template("{% load realtime_tags %}{% live_script %}")
    with django_capture_on_commit_callbacks(execute=True):
        first = publish(group="course.1", event_type="course.updated", data={})
    cache.delete(CURSOR_CACHE_KEY)
    with django_assert_num_queries(1):
        assert template.render(Context()) == (
            f'<script src="/static/realtime/live.js" defer data-live-cursor="{first.pk}"></script>'
        )
    assert cache.get(CURSOR_CACHE_KEY) == first.pk
    with django_capture_on_commit_callbacks(execute=True):
        event = publish(group="course.1", event_type="course.updated", data={})
    assert cache.get(CURSOR_CACHE_KEY) == event.pk
    with django_assert_num_queries(0):
        assert template.render(Context()) == (
            f'<script src="/static/realtime/live.js" defer data-live-cursor="{event.pk}"></script>'
        )


def test_page_cursor_is_taken_before_the_view_reads_anything(
    client: Any, django_capture_on_commit_callbacks: Any, django_user_model: Any
) -> None:
    from django.core.cache import cache

    with django_capture_on_commit_callbacks(execute=True):
        before = publish(group="course.1", event_type="course.updated", data={})
    client.force_login(django_user_model.objects.create_user("reader", "reader@example.com", "pw-Reader-1234"))
    # An event stored while the dashboard is being built (after the middleware ran) must be
    # replayed: the page's cursor stays at the id it had when the request began.
    cache.set(CURSOR_CACHE_KEY, before.pk, None)
    response = client.get("/dashboard/")
    assert response.wsgi_request.live_cursor == before.pk
    assert f'data-live-cursor="{before.pk}"' in response.content.decode()
