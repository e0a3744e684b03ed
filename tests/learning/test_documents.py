"""Files follow their lesson; private media folders are never served from /media/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from wagtail.documents import get_document_model

from tests.courses.helpers import Tree, logged_in, make_image, make_lesson

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(db: None) -> Any:
    return get_document_model().objects.create(title="Answers", file=ContentFile(b"42", name="answers.txt"))


def test_documents_are_served_by_the_view_never_from_media(document: Any, settings: Any) -> None:
    assert settings.WAGTAILDOCS_SERVE_METHOD == "serve_view"
    assert document.url == f"/documents/{document.pk}/answers.txt"


def test_document_used_nowhere_is_for_editors_only(tree: Tree, document: Any, learner: Any, editor: Any, client: Any) -> None:
    assert client.get(document.url).status_code == 404
    assert logged_in(learner).get(document.url).status_code == 404
    response = logged_in(editor).get(document.url)
    assert (response.status_code, b"".join(response.streaming_content)) == (200, b"42")


def test_document_of_a_course_description_follows_the_course(
    tree: Tree, document: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tree.python.description = f'<p><a linktype="document" id="{document.pk}">Syllabus</a></p>'
        tree.python.save_revision().publish()
    assert client.get(document.url).status_code == 200


def test_document_in_a_lesson_refuses_learners_not_enrolled(
    tree: Tree, document: Any, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        make_lesson(tree.sql, "Worksheet", body=[
            {"type": "download", "value": {"document": document.pk, "title": "", "description": ""}},
        ])
    response = logged_in(learner).get(document.url)
    assert response.status_code == 403
    assert "Enroll in its course" in response.content.decode()


@pytest.mark.parametrize(
    "path", ["documents/answers.txt", "images/../documents/answers.txt", "images/%2E%2E/documents/answers.txt", "/documents/answers.txt"]
)
def test_media_never_serves_the_documents_folder(document: Any, client: Any, path: str, settings: Any) -> None:
    assert (Path(settings.MEDIA_ROOT) / "documents" / "answers.txt").exists()
    assert client.get(f"/media/{path}").status_code == 404


def test_media_serves_renditions_and_not_originals_in_production(client: Any, settings: Any) -> None:
    image = make_image()
    rendition = image.get_rendition("fill-32x32")
    assert client.get(rendition.url).status_code == 200
    original = f"/media/{image.file.name}"
    assert original.startswith("/media/original_images/")
    settings.ACADEMY_PRIVATE_MEDIA_DIRS = ["documents/", "original_images/"]  # DJANGO_DEBUG=0
    assert client.get(original).status_code == 404
    assert client.get(rendition.url).status_code == 200


def test_document_in_a_quiz_lesson_follows_its_course_like_any_lesson(
    tree: Tree, document: Any, learner: Any, editor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Issue 19, finding 2: a plugin's lesson kind (the quiz lesson) is a lesson for downloads too."""
    from learning.models import Enrollment
    from tests.plugins.quizzes.helpers import make_quiz

    with django_capture_on_commit_callbacks(execute=True):
        make_quiz(tree.sql, body=[
            {"type": "download", "value": {"document": document.pk, "title": "", "description": ""}},
        ])
    response = logged_in(learner).get(document.url)
    assert (response.status_code, "Enroll in its course" in response.content.decode()) == (403, True)
    Enrollment.objects.create(user=learner, course=tree.sql, status=Enrollment.Status.PENDING_APPROVAL)
    assert logged_in(learner).get(document.url).status_code == 403
    Enrollment.objects.filter(user=learner).update(status=Enrollment.Status.ACTIVE)
    response = logged_in(learner).get(document.url)
    assert (response.status_code, b"".join(response.streaming_content)) == (200, b"42")
    response = logged_in(editor).get(document.url)
    assert (response.status_code, b"".join(response.streaming_content)) == (200, b"42")
