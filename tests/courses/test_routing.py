"""Cached routes, outlines and page fragments follow every change of the tree at once.

Logged-in readers never use the anonymous page cache, so what they see after an editor's change
comes straight from ``courses.routing`` (routes, course outlines) and the fragments cached under
its tree generation. Each test warms those caches, changes something the way an editor does,
and reads again: the change must show on the very next request.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from wagtail.models import Site

from courses.models import CoursePage, Instructor
from learning import services
from tests.courses.helpers import Tree, logged_in, make_course, make_lesson


@pytest.fixture
def learner(tree: Tree) -> Client:
    user = User.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    services.enrollment_request(user=user, course=tree.python)
    return logged_in(user)


def test_an_unpublished_lesson_is_gone_on_the_next_request(tree: Tree, learner: Client) -> None:
    url = "/courses/python-basics/functions/"
    assert learner.get(url).status_code == 200
    tree.lessons[1].unpublish()
    assert learner.get(url).status_code == 404
    course = learner.get("/courses/python-basics/").content.decode()
    assert "Functions" not in course and "2 lessons" in course


def test_a_new_lesson_shows_in_the_outline_and_the_navigation_at_once(tree: Tree, learner: Client) -> None:
    assert "3 lessons" in learner.get("/courses/python-basics/").content.decode()
    last = tree.lessons[2]
    assert "Back to the course" in learner.get(last.url).content.decode()
    make_lesson(tree.python, "Decorators", slug="decorators")
    assert "4 lessons" in learner.get("/courses/python-basics/").content.decode()
    assert "Decorators" in learner.get(last.url).content.decode()  # "Next" now leads to it
    assert learner.get("/courses/python-basics/decorators/").status_code == 200


def test_a_moved_course_answers_at_its_new_place_only(tree: Tree, learner: Client) -> None:
    assert learner.get("/courses/python-basics/functions/").status_code == 200
    other = make_course(tree.catalog, "Archive", slug="archive")
    CoursePage.objects.get(pk=tree.python.pk).move(other, pos="last-child")
    # Wagtail leaves a redirect at the old URL: the old route is no longer served.
    old = learner.get("/courses/python-basics/functions/")
    assert old.status_code == 301 and old["Location"] == "/courses/archive/python-basics/functions/"


def test_a_renamed_slug_moves_the_route(tree: Tree, learner: Client) -> None:
    assert learner.get("/courses/python-basics/").status_code == 200
    course = CoursePage.objects.get(pk=tree.python.pk)
    course.slug = "python-first-steps"
    course.save_revision().publish()
    assert learner.get("/courses/python-basics/").status_code == 404
    assert learner.get("/courses/python-first-steps/functions/").status_code == 200


def test_a_site_moved_to_another_root_routes_there(tree: Tree, learner: Client) -> None:
    assert learner.get("/courses/").status_code == 200
    site = Site.objects.get(is_default_site=True)
    site.root_page = tree.catalog
    site.save()
    assert learner.get("/courses/").status_code == 404
    assert learner.get("/python-basics/").status_code == 200


def test_an_edited_instructor_shows_on_the_course_page_at_once(tree: Tree, learner: Client) -> None:
    instructor = Instructor.objects.create(name="Grace Hopper", role="Teacher")
    course = CoursePage.objects.get(pk=tree.python.pk)
    course.instructor = instructor
    course.save_revision().publish()
    assert "Grace Hopper" in learner.get("/courses/python-basics/").content.decode()
    instructor.name = "Rear Admiral Grace Hopper"
    instructor.save()
    assert "Rear Admiral Grace Hopper" in learner.get("/courses/python-basics/").content.decode()


def test_a_published_course_joins_the_logged_in_catalog_at_once(tree: Tree, learner: Client) -> None:
    assert "Rust in a week" not in learner.get("/courses/").content.decode()
    make_course(tree.catalog, "Rust in a week", slug="rust")
    assert "Rust in a week" in learner.get("/courses/").content.decode()


def test_a_private_course_leaves_the_logged_in_catalog_at_once(tree: Tree, learner: Client) -> None:
    from wagtail.models import PageViewRestriction

    assert "Databases with SQL" in learner.get("/courses/").content.decode()
    PageViewRestriction.objects.create(page=tree.sql, restriction_type=PageViewRestriction.LOGIN)
    assert "Databases with SQL" not in learner.get("/courses/").content.decode()


def test_a_draft_preview_never_reads_or_fills_the_cached_fragments(tree: Tree, admin_client: Any) -> None:
    course = CoursePage.objects.get(pk=tree.python.pk)
    live = admin_client.get("/courses/python-basics/").content.decode()
    assert "About Python basics." in live
    course.description = "<p>A brand new description.</p>"
    course.save_revision()  # a draft: the live page is unchanged
    preview = admin_client.get(f"/admin/pages/{course.pk}/view_draft/").content.decode()
    assert "A brand new description." in preview
    assert "About Python basics." in admin_client.get("/courses/python-basics/").content.decode()


def test_joining_the_editors_shows_the_user_bar_at_once(tree: Tree) -> None:
    user = User.objects.create_user("grace", "grace@example.com", "pw-grace-123")
    client = logged_in(user)
    url = "/courses/python-basics/"
    assert "wagtail-userbar" not in client.get(url).content.decode()
    editors = Group.objects.get(name="Editors")
    user.groups.add(editors)
    assert "wagtail-userbar" in client.get(url).content.decode()
    user.groups.remove(editors)
    assert "wagtail-userbar" not in client.get(url).content.decode()
    editors.user_set.add(user)  # from the group's side
    assert "wagtail-userbar" in client.get(url).content.decode()
    editors.permissions.clear()  # the group loses admin access
    assert "wagtail-userbar" not in client.get(url).content.decode()


def test_a_demoted_superuser_loses_every_permission_at_once(tree: Tree) -> None:
    user = User.objects.create_superuser("root2", "root2@example.com", "pw-root-123")
    client = logged_in(user)
    url = "/courses/python-basics/"
    assert "wagtail-userbar" in client.get(url).content.decode()
    assert "wagtailadmin.access_admin" in user.get_all_permissions()  # every backend's set, cached
    user.is_superuser = False
    user.save()
    assert "wagtail-userbar" not in client.get(url).content.decode()
