"""Files follow their lesson: who may download a Wagtail document.

Wagtail's reference index says where a document is used. The access policy
(``learning.access``) then decides, for each page using it:

- used in a lesson of any kind (core's or a plugin's, e.g. a quiz: the lesson-kind registry
  decides, never one content type): served to those who may read that lesson (enrolled with access, or staff and
  editors, within the lesson's view restrictions); staff and editors also get files of drafts
  they preview;
- used in any other page (a course description, the home page): served to those who may see it;
- used only outside pages (snippets): Wagtail's own rules (collection privacy) alone;
- used nowhere: staff and editors only (a file nobody links is not published).

Wagtail's collection view restrictions still apply on top (its own ``before_serve_document``
hook). Queries: four at most (references, pages, their rules, enrollments), plus
the user's groups or permissions where a rule needs them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from wagtail.models import Page, ReferenceIndex

from learning import access

REFUSED_MESSAGE = "This file belongs to a lesson you cannot read. Enroll in its course to download it."


def may_download(document: Any, who: access.Viewer) -> bool | None:
    """True: serve; False: refuse; None: the document is used nowhere and ``who`` is no editor.

    The pages using it come from Wagtail's reference index; whether ``who`` may read one of them
    (a lesson of any kind, or another page) is the access policy's answer (``access.may_read_any``).
    """
    page_type = ContentType.objects.get_for_model(Page)
    references = list(ReferenceIndex.get_references_to(document).values_list("base_content_type_id", "object_id"))
    page_ids = {int(object_id) for type_id, object_id in references if type_id == page_type.pk}
    if not page_ids:
        if references:
            return True
        return True if who.privileged else None
    pages = list(Page.objects.filter(pk__in=page_ids).values_list("path", "content_type_id"))
    return access.may_read_any(who, pages, drafts=True)


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
