"""The world of the access matrix: six courses, one per kind of access, and nine kinds of user.

Every course has one lesson whose body holds a word found nowhere else and a download of a
document used only there. Learners in the pending, active and cancelled roles, and the two
group members, hold an enrollment of that status in every course, as if they had joined before
a restriction was added (or through the hole of issue 9's finding 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.models import Page, PageViewRestriction

from courses.models import CourseIndexPage, CoursePage, EnrollmentMode, LessonPage
from learning.models import Enrollment
from tests.courses.helpers import add_page, make_course, make_home, make_lesson

COURSES = ("open", "paid", "login", "group", "password", "draft")
USERS = ("anonymous", "learner", "pending", "active", "cancelled", "member", "other_group", "editor", "superuser")
PASSWORD = "open-sesame"
ROLE_STATUS = {
    "pending": Enrollment.Status.PENDING_APPROVAL,
    "active": Enrollment.Status.ACTIVE,
    "cancelled": Enrollment.Status.CANCELLED,
    "member": Enrollment.Status.ACTIVE,
    "other_group": Enrollment.Status.ACTIVE,
}


@dataclass
class Course:
    """One course of the matrix and what identifies its content."""

    page: CoursePage
    lesson: LessonPage
    body_word: str
    document: Any
    restriction: PageViewRestriction | None


@dataclass
class World:
    """Courses by kind, users by role (None for the anonymous visitor)."""

    courses: dict[str, Course]
    users: dict[str, Any]

    def client(self, role: str) -> Client:
        """A client logged in as ``role`` (anonymous: no session)."""
        client = Client()
        if self.users[role] is not None:
            client.force_login(self.users[role])
        return client


def build_world() -> World:
    """Create the pages, documents, restrictions, users and enrollments."""
    home = make_home()
    catalog = add_page(home, CourseIndexPage(title="Courses", slug="courses"))
    members = Group.objects.create(name="Members")
    others = Group.objects.create(name="Others")
    documents = get_document_model()
    courses: dict[str, Course] = {}
    for kind in COURSES:
        mode = EnrollmentMode.APPROVAL if kind == "paid" else EnrollmentMode.OPEN
        page = make_course(
            catalog, f"{kind.title()} course", slug=f"{kind}-course", live=kind != "draft",
            summary=f"All about {kind}.", enrollment_mode=mode,
        )
        document = documents.objects.create(
            title=f"{kind} worksheet", file=ContentFile(f"{kind} answers".encode(), name=f"{kind}-worksheet.txt")
        )
        word = f"zeta{kind}"
        lesson = make_lesson(
            page, f"{kind.title()} lesson", slug=f"{kind}-lesson", summary="An introduction.",
            body=[
                {"type": "paragraph", "value": f"<p>Secret {word} inside.</p>"},
                {"type": "download", "value": {"document": document.pk, "title": "", "description": ""}},
            ],
        )
        restriction = None
        if kind == "login":
            restriction = PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.LOGIN)
        elif kind == "group":
            restriction = PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.GROUPS)
            restriction.groups.add(members)
        elif kind == "password":
            restriction = PageViewRestriction.objects.create(
                page=page, restriction_type=PageViewRestriction.PASSWORD, password=PASSWORD
            )
        courses[kind] = Course(page, lesson, word, document, restriction)

    user_model = get_user_model()
    users: dict[str, Any] = {"anonymous": None}
    for role in USERS[1:]:
        users[role] = user_model.objects.create_user(
            username=role, email=f"{role}@example.com", password="pw", is_superuser=role == "superuser",
        )
    users["member"].groups.add(members)
    users["other_group"].groups.add(others)
    users["editor"].groups.add(Group.objects.get(name="Editors"))
    users["editor"].user_permissions.add(Permission.objects.get(codename="view_enrollment"))
    now = timezone.now()
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                user=users[role], course=course.page, status=status, total_lessons=1,
                next_lesson=course.lesson, resume_lesson=course.lesson, last_activity_at=now,
                activated_at=now if status != Enrollment.Status.PENDING_APPROVAL else None,
            )
            for role, status in ROLE_STATUS.items()
            for course in courses.values()
        ]
    )
    # Fresh users: permission caches on the objects must not hide the grants above.
    users.update({role: user_model.objects.get(pk=user.pk) for role, user in users.items() if user is not None})
    assert Page.objects.filter(pk=courses["draft"].lesson.pk, live=True).exists()  # a live lesson of a draft course
    return World(courses=courses, users=users)
