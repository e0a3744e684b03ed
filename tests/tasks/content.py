"""Small builders of test content: a site with one course and its lessons, learners, enrollments.

Enrollment rows are test fixtures here (what services would have written); the code under test
is the task side.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.utils import timezone
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from courses.models import CourseIndexPage, CoursePage, HomePage, LessonPage
from learning.models import Enrollment


@dataclass
class CourseTree:
    """A published home page, catalog, one course and its lessons."""

    home: HomePage
    catalog: CourseIndexPage
    course: CoursePage
    lessons: list[LessonPage]


def build_course(*, slug: str = "python-basics", title: str = "Python Basics", lessons: int = 2,
                 enrollment_mode: str = "open") -> CourseTree:
    """Create the page tree under Wagtail's root and make the home page the default site's root."""
    root = Page.get_first_root_node()
    if root is None:  # a transactional test flushed the tree that the migrations made
        Locale.objects.get_or_create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
        root = Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=HomePage(title="Home", slug=f"home-{slug}"))
    Site.objects.update_or_create(is_default_site=True, defaults={"root_page": home, "hostname": "localhost", "port": 80})
    catalog = home.add_child(instance=CourseIndexPage(title="Courses", slug="courses"))
    course = catalog.add_child(instance=CoursePage(
        title=title, slug=slug, summary="A first course.", description="<p>All about it.</p>",
        enrollment_mode=enrollment_mode,
    ))
    made = [
        course.add_child(instance=LessonPage(title=f"Lesson {number}", slug=f"lesson-{number}", summary="Read me."))
        for number in range(1, lessons + 1)
    ]
    return CourseTree(home=home, catalog=catalog, course=course, lessons=made)


def make_learner(username: str = "ada", email: str | None = None) -> AbstractUser:
    """An active learner with a password and an email address."""
    return get_user_model().objects.create_user(
        username=username, email=email or f"{username}@example.com", password="correct-horse-battery-9"
    )


def make_enrollment(user: AbstractUser, course: CoursePage, status: str = Enrollment.Status.ACTIVE) -> Enrollment:
    """An enrollment in ``status`` with the timestamps that status implies."""
    now = timezone.now()
    return Enrollment.objects.create(
        user=user, course=course, status=status,
        activated_at=now if status in {Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED} else None,
        completed_at=now if status == Enrollment.Status.COMPLETED else None,
    )
