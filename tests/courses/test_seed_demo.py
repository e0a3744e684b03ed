"""``manage.py seed_demo`` builds the demo site, and running it again changes nothing."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import GroupPagePermission, Page, Revision, Site

from courses.models import (
    CourseIndexPage,
    CoursePage,
    EnrollmentMode,
    HomePage,
    Instructor,
    LessonPage,
)


def site_snapshot() -> dict[str, object]:
    """Everything seed_demo makes, counted and listed, to compare two runs."""
    return {
        "pages": sorted(Page.objects.values_list("url_path", "live", "content_type__model")),
        "revisions": Revision.objects.count(),
        "images": sorted(get_image_model().objects.values_list("title", "file")),
        "documents": sorted(get_document_model().objects.values_list("title", "file")),
        "instructors": sorted(Instructor.objects.values_list("name", "photo_id")),
        "sites": list(Site.objects.values_list("hostname", "root_page_id", "is_default_site")),
        "editor_page_permissions": GroupPagePermission.objects.filter(group__name="Editors").count(),
        "tags": sorted((course.slug, tuple(sorted(course.tags.names()))) for course in CoursePage.objects.all()),
        "body_blocks": sorted((lesson.slug, tuple(b.block_type for b in lesson.body)) for lesson in LessonPage.objects.all()),
    }


def test_seed_demo_twice_gives_the_same_site(seeded: str) -> None:
    first = site_snapshot()
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert site_snapshot() == first
    assert "pages        15 unchanged" in out.getvalue()
    assert "images       9 unchanged" in out.getvalue()
    assert "created" not in out.getvalue()
    assert "updated" not in out.getvalue()


def test_seed_demo_prints_what_it_created(seeded: str) -> None:
    assert seeded.splitlines() == [
        "Demo site is ready.",
        "  images       9 created",
        "  documents    3 created",
        "  instructors  3 created",
        "  pages        15 created",
        "  sites        1 updated",
        "  groups       1 updated",
        "  cohorts      2 created",
    ]


def test_seed_demo_replaces_welcome_page_with_home_as_site_root(seeded: str) -> None:
    home = HomePage.objects.get()
    site = Site.objects.get()
    assert (site.root_page_id, site.is_default_site, site.site_name) == (home.pk, True, "Academy")
    assert home.get_parent().depth == 1
    assert Page.objects.filter(depth=2).count() == 1  # the "Welcome to Wagtail" page is gone
    assert CourseIndexPage.objects.get().url == "/courses/"


def test_seed_demo_builds_courses_with_lessons(seeded: str) -> None:
    courses = CoursePage.objects.live().order_by("path")
    assert courses.count() == 3
    approval = [course for course in courses if course.enrollment_mode == EnrollmentMode.APPROVAL]
    assert [(course.slug, str(course.price), course.currency) for course in approval] == [("production-django", "149.00", "USD")]
    for course in courses:
        assert LessonPage.objects.child_of(course).live().count() >= 3
        assert course.cover_image is not None
        assert course.instructor is not None
        assert course.tags.count() >= 2
    drafts = LessonPage.objects.filter(live=False)
    assert [lesson.slug for lesson in drafts] == ["mocking-at-the-boundaries"]


def test_seed_demo_lessons_use_every_block_type_but_video(seeded: str) -> None:
    used = {block.block_type for lesson in LessonPage.objects.live() for block in lesson.body}
    assert used == {"heading", "paragraph", "image", "code", "callout", "download"}


def test_seed_demo_pages_render_for_visitors(seeded: str, client: Client) -> None:
    for url in ("/", "/courses/", "/courses/sql-for-web-developers/", "/courses/sql-for-web-developers/joins/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/courses/python-testing-with-pytest/mocking-at-the-boundaries/").status_code == 404


def test_seed_demo_catalog_search_works_at_once(seeded: str, client: Client) -> None:
    response = client.get("/courses/", {"q": "explain analyze"})
    assert [course.slug for course in response.context["courses_page"].object_list] == ["sql-for-web-developers"]


def test_seed_demo_editors_group_can_publish_under_catalog_only(seeded: str) -> None:
    editors = Group.objects.get(name="Editors")
    catalog = CourseIndexPage.objects.get()
    assert sorted(GroupPagePermission.objects.filter(group=editors).values_list("page_id", "permission__codename")) == sorted(
        (catalog.pk, codename) for codename in ["add_page", "change_page", "lock_page", "publish_page", "unlock_page"]
    )
    assert sorted(editors.permissions.values_list("codename", flat=True)) == sorted([
        "access_admin", "add_document", "add_image", "add_instructor", "change_document", "change_enrollment",
        "change_image", "change_instructor", "choose_document", "choose_image", "delete_document", "delete_image",
        "delete_instructor", "view_courseprogressreport", "view_enrollment", "view_instructor",
        # The certificates plugin's migration: editors configure their courses' certificates.
        "add_coursecertificatesettings", "change_coursecertificatesettings",
        "delete_coursecertificatesettings", "view_coursecertificatesettings",
    ])


def test_seed_demo_makes_no_accounts_when_debug_is_off(seeded: str) -> None:
    assert User.objects.count() == 0
    assert "admin / admin" not in seeded


def test_seed_demo_makes_demo_accounts_in_debug(db: None, settings: object) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())

    users = {user.username: user for user in User.objects.all()}
    # The discussions plugin's demo threads are written by three accounts that cannot log in.
    assert sorted(users) == ["admin", "assistant", "demo-maria", "demo-staff", "demo-tom", "editor", "learner", "teacher"]
    assert (users["admin"].is_superuser, users["learner"].is_staff) == (True, False)
    assert users["learner"].check_password("learner") is True
    assert list(users["editor"].groups.values_list("name", flat=True)) == ["Editors"]
    assert "demo login (superuser): admin / admin" in out.getvalue()
    # The demo course's cohorts and roles, once: the teacher of the whole course, the assistant of Spring.
    from learning import access
    from learning.models import Cohort, CourseRole

    course = CoursePage.objects.get(slug="python-testing-with-pytest")
    assert list(Cohort.objects.filter(course=course).values_list("name", "is_default")) == [
        ("Open enrollment", True), ("Spring", False), ("Autumn", False),
    ]
    spring, autumn = Cohort.objects.get(name="Spring"), Cohort.objects.get(name="Autumn")
    today = timezone.localdate()
    assert spring.starts_on < today < autumn.starts_on
    assert sorted(CourseRole.objects.values_list("user__username", "role", "cohort__name")) == [
        ("assistant", "assistant", "Spring"), ("teacher", "teacher", None),
    ]
    assert list(users["teacher"].groups.values_list("name", flat=True)) == [access.COURSE_STAFF_GROUP]
    assert "  roles        2 created" in out.getvalue()


def test_seed_demo_recreates_missing_picture_files(seeded: str) -> None:
    image = get_image_model().objects.get(title="Cover: SQL for Web Developers")
    image.file.storage.delete(image.file.name)
    out = StringIO()

    call_command("seed_demo", stdout=out)

    image.refresh_from_db()
    assert image.file.storage.exists(image.file.name)
    assert "images       1 updated, 8 unchanged" in out.getvalue()
    assert get_image_model().objects.count() == 9
