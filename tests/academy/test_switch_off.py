"""Switching a plugin off means off everywhere, with no gating code in the plugin: its admin URLs
and menu items (first-party plugins quizzes and certificates, installed in every run), its
schedules; a lesson kind whose plugin is excluded is hidden like one switched off; the anonymous
page cache is keyed by the plugin set; switching off a plugin that changes completion asks for
confirmation with the numbers; excluded and refused plugins are listed with the reason."""

from __future__ import annotations

import ast
import importlib
from datetime import date, timedelta
from typing import Any

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule
from wagtail.models import Page

from academy.plugins import activation
from academy.plugins.discovery import Discovery
from academy.schedules import sync_schedules
from courses.selectors import course_lessons
from learning import services
from learning.models import Enrollment
from plugins.certificates.models import Certificate
from plugins.quizzes.models import QuizLessonPage
from tests.courses.helpers import Tree, make_tree
from tests.learning.conftest import IMMEDIATE_TASKS, make_user
from tests.plugins.quizzes.helpers import make_quiz
from tests.tasks.conftest import broker_name, queue, queued_tasks  # noqa: F401  (the task queue's fixtures)

pytestmark = pytest.mark.django_db

CERTIFICATES_ADMIN = "/admin/certificates/"
QUIZ_RESULTS = "/admin/quizzes/quizattempt/"


@pytest.fixture(autouse=True)
def _inline_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def tree(db: None) -> Tree:
    return make_tree()


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1"))
    return client


# --- Admin URLs and menus ---------------------------------------------------------------------


def test_a_switched_off_plugins_admin_urls_answer_404_and_its_menu_items_disappear(admin_client: Client) -> None:
    home = admin_client.get("/admin/").content.decode()
    assert "Issued certificates" in home and "Quiz results" in home
    assert admin_client.get(CERTIFICATES_ADMIN).status_code == 200
    assert admin_client.get(QUIZ_RESULTS).status_code == 200

    activation.set_state("certificates", "off")
    home = admin_client.get("/admin/").content.decode()
    assert "Issued certificates" not in home
    assert "Quiz results" in home  # the other plugin's menu stays
    assert admin_client.get(CERTIFICATES_ADMIN).status_code == 404
    # The viewset's URLs (register_admin_viewset) too.
    assert admin_client.get("/admin/course_certificate_settings/").status_code == 404

    activation.set_state("quizzes", "off")
    assert "Quiz results" not in admin_client.get("/admin/").content.decode()
    assert admin_client.get(QUIZ_RESULTS).status_code == 404  # modeladmin_register's URLs

    activation.set_state("certificates", "optin")  # opt-in is on somewhere: the admin works
    assert admin_client.get(CERTIFICATES_ADMIN).status_code == 200
    assert "Issued certificates" in admin_client.get("/admin/").content.decode()


def test_switching_a_plugin_off_for_one_course_keeps_its_admin(admin_client: Client, tree: Tree) -> None:
    activation.set_state("certificates", "off", course_id=tree.python.pk)
    assert admin_client.get(CERTIFICATES_ADMIN).status_code == 200


# --- Schedules ---------------------------------------------------------------------------------


def _run_stored(name: str) -> Any:
    """Run a stored schedule as Django-Q2's scheduler does: its func with its kwargs."""
    schedule = Schedule.objects.get(name=name)
    module, _, function = schedule.func.rpartition(".")
    kwargs = ast.literal_eval(schedule.kwargs) if schedule.kwargs else {}
    return getattr(importlib.import_module(module), function)(**kwargs)


def test_a_switched_off_plugins_schedules_do_not_run(tree: Tree) -> None:
    learner = make_user("ada")
    Certificate.objects.create(
        user=learner, course=tree.python, code="ABCD2345EFGH", learner_name="Ada", course_title="Python basics",
        title_line="Certificate", issuer="Academy", completed_on=date(2026, 1, 2),
    )
    Certificate.objects.update(updated_at=timezone.now() - timedelta(days=1))  # its PDF is overdue
    sync_schedules()
    name = "academy:certificates:render_pending_certificates"
    assert Schedule.objects.get(name=name).func == "academy.schedules.run_if_active"

    activation.set_state("certificates", "off")
    assert _run_stored(name) is None  # not run: nothing enqueued
    activation.set_state("certificates", "on")
    assert _run_stored(name) == 1  # run: the overdue PDF is enqueued
    # Core's schedules are stored as they are.
    assert Schedule.objects.get(name="academy:realtime:prune-outbox").func == "realtime.tasks.prune_outbox"


# --- Lesson kinds of a plugin that is not installed here ---------------------------------------


def _as_if_excluded(page: Page) -> None:
    """What a lesson of an excluded plugin's kind is: its rows are kept, its page type (content
    type) names a model that is not installed."""
    gone, _ = ContentType.objects.get_or_create(app_label="excludedplugin", model="excludedlessonpage")
    Page.objects.filter(pk=page.pk).update(content_type=gone)


def test_a_lesson_kind_whose_plugin_is_excluded_is_hidden_like_one_switched_off(tree: Tree) -> None:
    quiz = make_quiz(tree.python)
    learner = make_user("ada")
    services.enrollment_request(user=learner, course=tree.python)
    assert quiz.pk in [lesson.pk for lesson in course_lessons(course=tree.python)]
    _as_if_excluded(quiz)

    assert quiz.pk not in [lesson.pk for lesson in course_lessons(course=tree.python)]
    client = Client()
    client.force_login(learner)
    assert client.get(quiz.url).status_code == 404
    assert client.get(f"/api/v1/lessons/{quiz.pk}/").status_code == 404
    listed = client.get(f"/api/v1/lessons/?course={tree.python.pk}").json()["results"]
    assert quiz.pk not in [row["id"] for row in listed] and len(listed) == 3
    assert quiz.pk not in [row["id"] for row in client.get("/api/v1/lessons/").json()["results"]]
    course_page = client.get(tree.python.url).content.decode()
    assert quiz.title not in course_page
    with pytest.raises(services.LessonNotAvailable):
        services.lesson_progress_record(user=learner, lesson=quiz.pk)
    # It does not count: the three core lessons are the course.
    assert services.lesson_progress_record(user=learner, lesson=tree.lessons[0].pk).total_lessons == 3


# --- The page cache, cached progress and the plugin set -------------------------------------------


def test_a_start_with_another_plugin_set_recomputes_every_courses_progress_once(
    tree: Tree, settings: Any, queue: Any, django_capture_on_commit_callbacks: Any  # noqa: F811
) -> None:
    from academy.plugins.discovery import Exclusion

    def start() -> list[tuple[str, dict[str, Any]]]:
        queue.purge_queue()
        with django_capture_on_commit_callbacks(execute=True):
            emit_post_migrate_signal(verbosity=0, interactive=False, db="default")  # what migrate sends
        return [(t["func"], t["kwargs"]) for t in queued_tasks(queue) if t["func"].endswith("refresh_course_progress")]

    everyone = sorted([("learning.tasks.refresh_course_progress", {"course_id": pk}) for pk in (tree.python.pk, tree.sql.pk)], key=str)
    assert start() == []  # the set the test database was migrated with: nothing to recompute
    found: Discovery = settings.ACADEMY_PLUGINS_DISCOVERY
    settings.ACADEMY_PLUGINS_DISCOVERY = Discovery(
        apps=[a for a in found.apps if "quizzes" not in a], excluded=[Exclusion("quizzes", "quizzes")],
        versions=found.versions,
    )
    assert sorted(start(), key=str) == everyone  # quizzes left out: its lessons no longer count
    assert start() == []  # the same set again: once per set


def test_the_anonymous_page_cache_is_keyed_by_the_plugin_set(tree: Tree, settings: Any) -> None:
    from academy.plugins.discovery import Exclusion

    settings.ACADEMY_PAGE_CACHE = True
    client = Client()
    assert client.get(tree.python.url).headers["X-Cache"] == "miss"
    assert client.get(tree.python.url).headers["X-Cache"] == "hit"

    # The next start excludes a plugin: what the old set rendered is not served.
    found: Discovery = settings.ACADEMY_PLUGINS_DISCOVERY
    settings.ACADEMY_PLUGINS_DISCOVERY = Discovery(
        apps=found.apps, refused=found.refused, excluded=[Exclusion("badge", "badge")], versions=found.versions,
    )
    assert client.get(tree.python.url).headers["X-Cache"] == "miss"
    assert client.get(tree.python.url).headers["X-Cache"] == "hit"
    settings.ACADEMY_PLUGINS_DISCOVERY = found
    assert client.get(tree.python.url).headers["X-Cache"] == "hit"  # the first set's entry, still right for it


def test_switching_a_plugin_for_one_course_purges_that_course_from_the_page_cache(tree: Tree, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.ACADEMY_PAGE_CACHE = True
    client = Client()
    client.get(tree.python.url)
    client.get(tree.sql.url)
    with django_capture_on_commit_callbacks(execute=True):
        activation.set_state("quizzes", "off", course_id=tree.python.pk)
    assert client.get(tree.python.url).headers["X-Cache"] == "miss"
    assert client.get(tree.sql.url).headers["X-Cache"] == "hit"


# --- Confirmation before switching off a completion gate -----------------------------------------


def _course_with_a_quiz_learners_and_a_certificate(tree: Tree) -> QuizLessonPage:
    quiz = make_quiz(tree.python)
    for name in ("ada", "bob"):
        services.enrollment_request(user=make_user(name), course=tree.python)
    cancelled = make_user("cyd")
    services.enrollment_request(user=cancelled, course=tree.python)
    Enrollment.objects.filter(user=cancelled).update(status=Enrollment.Status.CANCELLED)
    Certificate.objects.create(
        user=get_user_model().objects.get(username="ada"), course=tree.python, code="ABCD2345EFGH",
        learner_name="Ada", course_title="Python basics", title_line="Certificate", issuer="Academy",
        completed_on=date(2026, 1, 2),
    )
    return quiz


def test_switching_off_quizzes_site_wide_asks_for_confirmation_with_learners_and_certificates(
    admin_client: Client, tree: Tree
) -> None:
    _course_with_a_quiz_learners_and_a_certificate(tree)
    asked = admin_client.post("/admin/plugins/", {"state-quizzes": "off", "state-certificates": "on"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert 'data-confirm-plugin="quizzes"' in html
    assert "Quizzes changes completion in 1 course" in html
    assert '<li data-impact="learners whose progress changes"><strong>2</strong> learners whose progress changes</li>' in html
    assert '<li data-impact="certificates issued in those courses"><strong>1</strong> certificates issued in those courses</li>' in html
    assert activation.is_active("quizzes", course_id=tree.python.pk)  # nothing switched yet

    done = admin_client.post("/admin/plugins/", {"state-quizzes": "off", "state-certificates": "on", "confirm": "1"})
    assert done.status_code == 302
    assert not activation.is_active("quizzes", course_id=tree.python.pk)


def test_switching_off_a_plugin_that_changes_no_completion_still_asks_first(admin_client: Client, tree: Tree) -> None:
    _course_with_a_quiz_learners_and_a_certificate(tree)
    asked = admin_client.post("/admin/plugins/", {"state-certificates": "off"}).content.decode()
    assert "Switch Certificates off in the site?" in asked and "It changes no course's completion." in asked
    assert activation.is_active("certificates")
    assert admin_client.post("/admin/plugins/", {"state-certificates": "off", "confirm": "1"}).status_code == 302
    assert not activation.is_active("certificates")
    # Quizzes in a course without a quiz: asked, with nothing about completion.
    url = f"/admin/plugins/course/{tree.sql.pk}/"
    course_asked = admin_client.post(url, {"state-quizzes": "off"}).content.decode()
    assert "Switch Quizzes off in this course?" in course_asked and "learners whose progress changes" not in course_asked
    assert admin_client.post(url, {"state-quizzes": "off", "confirm": "1"}).status_code == 302
    assert not activation.is_active("quizzes", course_id=tree.sql.pk)
    # Switching on, or to what it already is, asks nothing.
    assert admin_client.post(url, {"state-quizzes": "on"}).status_code == 302


def test_switching_off_quizzes_for_one_course_asks_for_confirmation(admin_client: Client, tree: Tree) -> None:
    _course_with_a_quiz_learners_and_a_certificate(tree)
    url = f"/admin/plugins/course/{tree.python.pk}/"
    asked = admin_client.post(url, {"state-quizzes": "off"})
    assert asked.status_code == 200
    assert '<strong>2</strong> learners whose progress changes' in asked.content.decode()
    assert activation.is_active("quizzes", course_id=tree.python.pk)
    assert admin_client.post(url, {"state-quizzes": "off", "confirm": "1"}).status_code == 302
    assert not activation.is_active("quizzes", course_id=tree.python.pk)
    assert activation.is_active("quizzes", course_id=tree.sql.pk)  # per course: the other keeps it


# --- Excluded and refused plugins are listed -----------------------------------------------------


def test_excluded_and_refused_plugins_are_listed_with_the_reason(admin_client: Client, settings: Any) -> None:
    from academy.plugins.discovery import Exclusion, Refusal

    found: Discovery = settings.ACADEMY_PLUGINS_DISCOVERY
    settings.ACADEMY_PLUGINS_DISCOVERY = Discovery(
        apps=found.apps,
        refused=[Refusal("feedback", "models.py could not be imported: ImportError: no rating", "/srv/feedback/models.py", 3)],
        excluded=[Exclusion("academy-badge", "badge")],
    )
    html = admin_client.get("/admin/plugins/").content.decode()
    assert '<tr data-refused="feedback">' in html
    assert "Refused: models.py could not be imported: ImportError: no rating (<code>/srv/feedback/models.py:3</code>)" in html
    assert "<code>ACADEMY_PLUGINS_EXCLUDE=feedback</code>" in html
    assert '<tr data-excluded="badge"><td><strong>academy-badge</strong></td><td>Excluded: left out by ACADEMY_PLUGINS_EXCLUDE.' in html
