"""The certificate in the course page's sidebar, on each dashboard card and the name setting on
the dashboard's side, through the slot machinery; one query per slot and page; the plugin kit."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from academy.plugins import activation
from academy.plugins.slots import render_slot
from academy.sdk import PluginContract
from learning import services as learning_services
from learning.models import Enrollment
from plugins.certificates import services, tasks
from plugins.certificates.models import Certificate
from tests.plugins.certificates.conftest import complete_course, make_user

pytestmark = pytest.mark.django_db


class TestCertificatesContract(PluginContract):
    """The contract every plugin passes (metadata, URLs, migrations, idempotent receivers, slot budgets)."""

    plugin_label = "certificates"


def _request(user: Any) -> Any:
    request = RequestFactory().get("/")
    request.user = user
    return request


def _issued(user: Any, course: Any) -> Certificate:
    complete_course(user, course)
    tasks.issue_certificate(user_id=user.pk, course_id=course.pk)
    return Certificate.objects.get(user=user, course=course)


def test_course_sidebar_shows_the_owner_the_download_and_verify_links(tree: Any, learner: Any) -> None:
    certificate = _issued(learner, tree.python)
    html = render_slot("course.sidebar", request=_request(learner), target=tree.python, course=tree.python)
    assert f'href="/p/certificates/{certificate.code}/download/" data-certificate-download' in html
    assert f'href="/certificates/{certificate.code}/" data-certificate-verify-link' in html
    assert 'data-certificate-state="ready"' in html
    assert html.count('src="/static/certificates/live.js"') == 1


def test_course_sidebar_for_a_learner_without_certificate_is_a_hidden_container(tree: Any, learner: Any) -> None:
    learning_services.enrollment_request(user=learner, course=tree.python)
    html = render_slot("course.sidebar", request=_request(learner), target=tree.python, course=tree.python)
    assert f'data-certificate data-course-id="{tree.python.pk}" hidden' in html
    assert "download" not in html


def test_course_sidebar_renders_nothing_for_visitors(tree: Any) -> None:
    assert render_slot("course.sidebar", request=_request(AnonymousUser()), target=tree.python, course=tree.python) == ""


def test_course_sidebar_renders_nothing_where_certificates_are_off(tree: Any, learner: Any) -> None:
    _issued(learner, tree.python)
    activation.set_state("certificates", "off", course_id=tree.python.pk)
    from django.core.cache import cache

    cache.delete(activation.CACHE_KEY)
    html = render_slot("course.sidebar", request=_request(learner), target=tree.python, course=tree.python)
    assert "certificate" not in html.lower()  # other plugins (discussions) may have theirs there


def test_course_page_shows_the_link_in_its_sidebar(tree: Any, learner: Any) -> None:
    certificate = _issued(learner, tree.python)
    client = Client()
    client.force_login(learner)
    html = client.get(tree.python.url).content.decode()
    assert f'href="/p/certificates/{certificate.code}/download/"' in html


def test_pending_certificate_says_being_prepared(tree: Any, learner: Any) -> None:
    complete_course(learner, tree.python)
    services.certificate_issue(user_id=learner.pk, course_id=tree.python.pk)
    html = render_slot("course.sidebar", request=_request(learner), target=tree.python, course=tree.python)
    assert 'data-certificate-state="pending"' in html


def test_revoked_certificate_says_revoked_without_a_link(tree: Any, learner: Any, manager: Any) -> None:
    certificate = _issued(learner, tree.python)
    services.certificate_revoke(certificate=certificate, by=manager, reason="Mistake")
    html = render_slot("course.sidebar", request=_request(learner), target=tree.python, course=tree.python)
    assert 'data-certificate-state="revoked"' in html
    assert "download" not in html


@pytest.mark.parametrize("courses", [1, 10])
def test_dashboard_cards_cost_one_query_whatever_the_number_of_cards(
    tree: Any, learner: Any, courses: int, django_assert_num_queries: Any
) -> None:
    from tests.courses.helpers import make_course, make_lesson

    made = [tree.python] + [make_course(tree.catalog, f"Course {n}", slug=f"course-{n}") for n in range(courses - 1)]
    for course in made[1:]:
        make_lesson(course, "Only lesson")
    for course in made:
        _issued(learner, course)
    enrollments = list(Enrollment.objects.filter(user=learner).order_by("pk"))
    request = _request(learner)
    activation.table()  # warm, as on every page after the first
    with django_assert_num_queries(1):  # the viewer's certificates for the page's courses
        cards = [render_slot("dashboard.card", request=request, target=row, batch=enrollments) for row in enrollments]
    assert [card.count("data-certificate-download") for card in cards] == [1] * courses
    assert sum(card.count("certificates/live.js") for card in cards) == 1


def test_dashboard_card_says_being_prepared_for_a_completed_course_without_certificate(tree: Any, learner: Any) -> None:
    enrollment = complete_course(learner, tree.python)
    html = render_slot("dashboard.card", request=_request(learner), target=enrollment, batch=[enrollment])
    assert 'data-certificate-state="pending"' in html
    assert " hidden" not in html


def test_dashboard_card_of_a_pending_enrollment_shows_nothing(tree: Any, learner: Any) -> None:
    enrollment = learning_services.enrollment_request(user=learner, course=tree.sql).enrollment
    assert enrollment.status == "pending_approval"
    assert render_slot("dashboard.card", request=_request(learner), target=enrollment, batch=[enrollment]) == ""


def test_dashboard_side_shows_the_name_in_force_and_links_the_setting(learner: Any) -> None:
    html = render_slot("dashboard.side", request=_request(learner))
    assert "<strong>Ada Lovelace</strong>" in html
    assert 'href="/p/certificates/name/?next=/"' in html
    services.certificate_name_set(user=learner, name="Augusta Ada King")
    other = make_user("zed")
    assert "<strong>Augusta Ada King</strong>" in render_slot("dashboard.side", request=_request(learner))
    assert "<strong>zed</strong>" in render_slot("dashboard.side", request=_request(other))


def test_dashboard_page_shows_the_certificate_on_its_card_and_the_name_on_the_side(tree: Any, learner: Any) -> None:
    certificate = _issued(learner, tree.python)
    client = Client()
    client.force_login(learner)
    html = client.get("/dashboard/").content.decode()
    assert f'href="/p/certificates/{certificate.code}/download/" data-certificate-download' in html
    assert "<strong>Ada Lovelace</strong>" in html
