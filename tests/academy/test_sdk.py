"""The few things ``academy.sdk`` adds over core's own objects: the page-cache purge of a course
and the admin view base (activation, permissions and the staff rule)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from wagtail.models import GroupPagePermission

from academy.sdk import PluginAdminView, build_world, purge_course, purge_page, set_plugin_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_cache(settings: Any, tmp_path: Any) -> None:
    """The embedded default: a file cache shared by the processes (here in a temporary folder)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}


def _x_cache(client: Client, url: str) -> str | None:
    return client.get(url).headers.get("X-Cache")


@pytest.mark.usefixtures("file_cache")
def test_purge_course_forgets_the_course_its_lessons_and_the_listings(django_capture_on_commit_callbacks: Any) -> None:
    world = build_world(learners=0)
    urls = [world.course.url, world.lessons[0].url, world.catalog.url, world.other_course.url]
    client = Client()
    for url in urls:
        _x_cache(client, url)
    assert [_x_cache(client, url) for url in urls] == ["hit", "hit", "hit", "hit"]
    with django_capture_on_commit_callbacks(execute=True):
        purge_course(world.course.pk)
    # The other course is not shown on this course's pages: it stays cached.
    assert [_x_cache(client, url) for url in urls] == ["miss", "miss", "miss", "hit"]


@pytest.mark.usefixtures("file_cache")
def test_purge_page_of_a_lesson_and_purge_course_of_an_unknown_id(django_capture_on_commit_callbacks: Any) -> None:
    world = build_world(learners=0)
    client = Client()
    lesson_url, other_url = world.lessons[0].url, world.other_course.url
    for url in (lesson_url, other_url):
        _x_cache(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        purge_course(999999)
        purge_page(world.lessons[0])
    assert (_x_cache(client, lesson_url), _x_cache(client, other_url)) == ("miss", "hit")


class Screen(PluginAdminView):
    """A quizzes screen for the test: staff with the quiz results permission."""

    plugin_label = "quizzes"
    permissions = ("quizzes.view_quizattempt",)

    def get(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        courses = ",".join(str(pk) for pk in self.staff_courses().values_list("pk", flat=True))
        return HttpResponse(courses)


def _call(user: Any, view: type[PluginAdminView] = Screen) -> HttpResponse:
    request = RequestFactory().get("/admin/x/")
    request.user = user
    return view.as_view()(request)


def _staff_of(course: Any, *codenames: str) -> Any:
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw-staff-1")
    group = Group.objects.create(name="Course staff")
    GroupPagePermission.objects.create(group=group, page=course, permission=Permission.objects.get(codename="change_page"))
    user.groups.add(group)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return get_user_model().objects.get(pk=user.pk)


def test_the_admin_base_lists_only_the_staff_rules_courses() -> None:
    world = build_world(learners=0)
    staff = _staff_of(world.course, "view_quizattempt")
    assert _call(staff).content.decode() == str(world.course.pk)
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    assert sorted(_call(boss).content.decode().split(",")) == sorted([str(world.course.pk), str(world.other_course.pk)])


def test_the_admin_base_refuses_without_a_permission_and_where_the_plugin_is_off() -> None:
    world = build_world(learners=0)
    with pytest.raises(PermissionDenied):
        _call(_staff_of(world.course))  # page permission, but not the screen's model permission
    set_plugin_state("quizzes", "off")
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    with pytest.raises(Http404):
        _call(boss)


def test_require_course_applies_the_staff_rule_and_per_course_activation() -> None:
    world = build_world(learners=0)
    view = Screen()
    view.request = RequestFactory().get("/")
    view.request.user = _staff_of(world.course, "view_quizattempt")
    view.require_course(world.course)
    with pytest.raises(PermissionDenied):
        view.require_course(world.other_course)
    set_plugin_state("quizzes", "off", course_id=world.course.pk)
    with pytest.raises(Http404):
        view.require_course(world.course)


def test_a_screen_without_its_plugin_label_is_a_configuration_error() -> None:
    class Unnamed(PluginAdminView):
        pass

    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    with pytest.raises(ImproperlyConfigured, match="Unnamed must set plugin_label"):
        _call(boss, Unnamed)
