"""Files follow their lesson: who may download a Wagtail document.

Wagtail's reference index says where a document is used. The access policy
(``learning.access``) then decides, for each page using it:

- used in a lesson: served to those who may read that lesson (enrolled with access, or staff and
  editors, within the lesson's view restrictions); staff and editors also get files of drafts
  they preview;
- used in any other page (a course description, the home page): served to those who may see it;
- used only outside pages (snippets): Wagtail's own rules (collection privacy) alone;
- used nowhere: staff and editors only (a file nobody links is not published).

Wagtail's collection view restrictions still apply on top (its own ``before_serve_document``
hook). Queries: five at most (references, pages, their rules, their courses, enrollments), plus
the user's groups or permissions where a rule needs them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from wagtail.models import Page, ReferenceIndex

from courses.models import LessonPage
from learning import access
from learning.models import Enrollment

REFUSED_MESSAGE = "This file belongs to a lesson you cannot read. Enroll in its course to download it."


def may_download(document: Any, who: access.Viewer) -> bool | None:
    """True: serve; False: refuse; None: the document is used nowhere and ``who`` is no editor."""
    page_type = ContentType.objects.get_for_model(Page)
    references = list(ReferenceIndex.get_references_to(document).values_list("base_content_type_id", "object_id"))
    page_ids = {int(object_id) for type_id, object_id in references if type_id == page_type.pk}
    if not page_ids:
        if references:
            return True
        return True if who.privileged else None
    lesson_type = ContentType.objects.get_for_model(LessonPage)
    pages = list(Page.objects.filter(pk__in=page_ids).values_list("pk", "path", "content_type_id"))
    rules = access.page_rules([path for _pk, path, _type in pages])
    readable_lessons: list[str] = []
    for _pk, path, type_id in pages:
        visibility = rules.visibility(path, who)
        seen = visibility.visible or (visibility is access.Visibility.NOT_PUBLISHED and who.privileged)
        if not seen:
            continue
        if type_id != lesson_type.pk:
            return True
        readable_lessons.append(path)
    if not readable_lessons:
        return False
    if who.privileged:
        return True
    if not who.authenticated:
        return False
    course_paths = {path[: -Page.steplen] for path in readable_lessons}
    return Enrollment.objects.filter(
        user_id=who.user.pk, course__path__in=course_paths, status__in=access.ACCESS_STATUSES
    ).exists()


def refusal(document: Any, request: HttpRequest) -> HttpResponse | None:
    """None when ``request`` may download ``document``; otherwise the answer: the login page for
    anonymous visitors, 403 for others, 404 for a document used nowhere."""
    allowed = may_download(document, access.viewer_from_request(request))
    if allowed:
        return None
    if allowed is None:
        raise Http404("No such document.")
    if not getattr(request.user, "is_authenticated", False):
        return redirect_to_login(request.get_full_path())
    return render(request, "learning/error.html", {"status": 403, "message": REFUSED_MESSAGE}, status=403)
