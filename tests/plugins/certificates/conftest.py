"""Fixtures of the certificates plugin's tests: a course, a learner who completed it through the
progress service, staff who may manage certificates, and the PDF read back (text and QR code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pypdfium2
import pytest
import zxingcpp
from django.contrib.auth import get_user_model

from learning import services as learning_services
from learning.models import Enrollment
from tests.courses.helpers import Tree, make_tree
from tests.learning.staff_world import staff_member

# Fixtures of other packages' tests: the queue and worker (background work), the realtime world
# and channel layer, and headless Chromium.
from tests.realtime.conftest import layer, world  # noqa: F401
from tests.realtime.test_browser import browser  # noqa: F401
from tests.tasks.conftest import broker_name, queue, worker_factory  # noqa: F401

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
BASE_URL = "https://academy.example.com"
User = get_user_model()


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    """Wagtail's index updates inline; a public base URL and site name to find in the PDF."""
    settings.TASKS = IMMEDIATE_TASKS
    settings.ACADEMY_BASE_URL = BASE_URL
    settings.WAGTAIL_SITE_NAME = "Academy of Tests"


@pytest.fixture
def tree(db: None) -> Tree:
    """Home > Courses > Python basics (open, 3 lessons), Databases with SQL (approval, 1 lesson)."""
    return make_tree()


def make_user(username: str, **fields: Any) -> Any:
    """A user with password "pw"."""
    return User.objects.create_user(username=username, email=f"{username}@example.com", password="pw", **fields)


@pytest.fixture
def learner(db: None) -> Any:
    """Ada Lovelace, a learner with a full name."""
    return make_user("ada", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def other_learner(db: None) -> Any:
    """Another learner."""
    return make_user("bob")


def certificate_staff(username: str, *pages: Any, manage: bool = True) -> Any:
    """Staff with admin access and ``certificates.view_certificate`` (and change, with
    ``manage``), in a group that may edit ``pages`` (Wagtail page permissions: the staff rule
    gives them the certificates of the courses at or below those pages; none without pages)."""
    codenames = ("view_certificate", "change_certificate") if manage else ("view_certificate",)
    return staff_member(
        username, *pages, permissions=tuple(("certificates", codename) for codename in codenames),
        group_name=f"Certificate staff {username}", is_staff=True,
    )


@pytest.fixture
def manager(tree: Tree) -> Any:
    """Staff who may manage certificates (admin access + certificates.change/view_certificate)
    and edit Python basics, so its certificates are theirs (not those of Databases with SQL)."""
    return certificate_staff("sam", tree.python)


def complete_course(user: Any, course: Any) -> Enrollment:
    """Enroll ``user`` and complete every lesson through the progress service."""
    learning_services.enrollment_request(user=user, course=course)
    for lesson in course.get_children().live().specific():
        learning_services.lesson_progress_record(user=user, lesson=lesson, completed=True)
    return Enrollment.objects.get(user=user, course=course)


@dataclass
class ReadPdf:
    """A PDF read back: its pages' text and the QR codes found on its first page."""

    pages: int
    text: str
    qr_codes: list[str]


def read_pdf(data: bytes) -> ReadPdf:
    """Open the PDF with PDFium, extract its text, render page 1 and decode its QR codes."""
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        text_page = page.get_textpage()
        text = text_page.get_text_range()
        image = page.render(scale=3).to_pil()
        codes = [result.text for result in zxingcpp.read_barcodes(image)]
        text_page.close()
        page.close()
        return ReadPdf(pages=len(document), text=text, qr_codes=codes)
    finally:
        document.close()
