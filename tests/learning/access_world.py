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


def client_as(user: Any) -> Client:
    """A client logged in as ``user`` (None: the anonymous visitor, no session)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@dataclass
class World:
    """Courses by kind, users by role (None for the anonymous visitor)."""

    courses: dict[str, Course]
    users: dict[str, Any]

    def client(self, role: str) -> Client:
        """A client logged in as ``role`` (anonymous: no session)."""
        return client_as(self.users[role])


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


# --- Every lesson kind x every door x staff scopes --------------------------------------------------

KIND_VIEWERS = ("anonymous", "learner", "pending", "active", "editor_here", "editor_other", "superuser")
KIND_VIEWER_STATUS = {"pending": Enrollment.Status.PENDING_APPROVAL, "active": Enrollment.Status.ACTIVE}


def _core_lesson(course: CoursePage, title: str, slug: str, body: list[dict[str, Any]]) -> LessonPage:
    return make_lesson(course, title, slug=slug, summary="An introduction.", body=body)


def _quiz_lesson(course: CoursePage, title: str, slug: str, body: list[dict[str, Any]]) -> LessonPage:
    from tests.plugins.quizzes.helpers import make_quiz

    return make_quiz(course, title, slug=slug, summary="An introduction.", body=body)


def kind_builders() -> dict[type[Any], Any]:
    """A builder for every lesson kind the matrix knows, by page type. The test compares it with
    the lesson-kind registry, so a new kind must be added here before the matrix passes."""
    from plugins.quizzes.models import QuizLessonPage

    return {LessonPage: _core_lesson, QuizLessonPage: _quiz_lesson}


@dataclass
class KindCourse:
    """One approval course holding one lesson of one kind, and what identifies its content."""

    kind: str  # the lesson kind's model name, e.g. "lessonpage", "quizlessonpage"
    page: CoursePage
    lesson: LessonPage
    body_word: str
    document: Any


@dataclass
class KindsWorld:
    """An approval course per lesson kind, another course, and the viewers of KIND_VIEWERS."""

    courses: list[KindCourse]
    other_course: CoursePage
    users: dict[str, Any]

    def client(self, role: str) -> Client:
        """A client logged in as ``role`` (anonymous: no session)."""
        return client_as(self.users[role])


def build_kinds_world() -> KindsWorld:
    """Per installed lesson kind an approval course with one lesson of that kind (a body word and
    a document used only there); viewers with no, a pending and an active enrollment in each;
    an editor of those courses, an editor of another course, a superuser."""
    from courses.lesson_kinds import lesson_kinds
    from tests.learning.staff_world import staff_member

    home = make_home()
    catalog = add_page(home, CourseIndexPage(title="Courses", slug="courses"))
    builders = kind_builders()
    documents = get_document_model()
    courses: list[KindCourse] = []
    for model in lesson_kinds():
        kind = model._meta.model_name
        page = make_course(
            catalog, f"Course of {kind}", slug=f"{kind}-course", summary=f"All about {kind}.",
            enrollment_mode=EnrollmentMode.APPROVAL,
        )
        document = documents.objects.create(
            title=f"{kind} worksheet", file=ContentFile(f"{kind} answers".encode(), name=f"{kind}-worksheet.txt")
        )
        word = f"omega{kind}"
        lesson = builders[model](page, f"Lesson of {kind}", f"{kind}-lesson", [
            {"type": "paragraph", "value": f"<p>Secret {word} inside.</p>"},
            {"type": "download", "value": {"document": document.pk, "title": "", "description": ""}},
        ])
        assert type(lesson) is model
        courses.append(KindCourse(kind, page, lesson, word, document))
    other_course = make_course(catalog, "Another course", slug="another-course")
    make_lesson(other_course, "Another lesson", slug="another-lesson")

    user_model = get_user_model()
    learning_permissions = (("learning", "view_enrollment"), ("learning", "change_enrollment"))
    page_permissions = ("add_page", "change_page", "publish_page")
    users: dict[str, Any] = {
        "anonymous": None,
        "learner": user_model.objects.create_user(username="learner", password="pw"),
        "pending": user_model.objects.create_user(username="pending", password="pw"),
        "active": user_model.objects.create_user(username="active", password="pw"),
        "editor_here": staff_member(
            "editor_here", *(course.page for course in courses), permissions=learning_permissions,
            page_permissions=page_permissions,
        ),
        "editor_other": staff_member(
            "editor_other", other_course, permissions=learning_permissions, page_permissions=page_permissions,
        ),
        "superuser": user_model.objects.create_user(username="root", password="pw", is_superuser=True, is_staff=True),
    }
    now = timezone.now()
    Enrollment.objects.bulk_create([
        Enrollment(
            user=users[role], course=course.page, status=status, total_lessons=1,
            next_lesson=course.lesson, resume_lesson=course.lesson, last_activity_at=now,
            activated_at=now if status != Enrollment.Status.PENDING_APPROVAL else None,
        )
        for role, status in KIND_VIEWER_STATUS.items()
        for course in courses
    ])
    users.update({role: user_model.objects.get(pk=user.pk) for role, user in users.items() if user is not None})
    return KindsWorld(courses=courses, other_course=other_course, users=users)
