"""Learner views: enroll, complete a lesson, mark notifications read, the dashboard.

Thin: parse and validate the request, call one service, answer. Form posts (which work without
JavaScript) redirect back to a safe ``next`` URL with a message. Bad input gets a clear 4xx page
(400 malformed, 403 not allowed, 404 missing or not yours, 405 wrong method) and nothing is
written. These views answer HTML only: scripts and apps use the REST API (``learning.api``), the
one place that speaks JSON.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from learning import access, date_selectors, selectors, services
from learning.accounts import safe_next_url

# Largest id a form may send (PostgreSQL bigint); bigger numbers are malformed input.
MAX_ID = 2**63 - 1


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A 4xx answer: a small page."""
    return render(request, "learning/error.html", {"status": status, "message": message}, status=status)


def _service_error(request: HttpRequest, exc: services.ServiceError) -> HttpResponse:
    return _error(request, exc.status_code, exc.message)


# ASCII digits only: str.isdigit() also accepts "²" and other digits that int() refuses.
_ID_PATTERN = re.compile(r"[0-9]{1,19}")
_POSITION_PATTERN = re.compile(r"[0-9]{1,3}")


def _parse_id(raw: Any) -> int | None:
    """A positive id from a form field, or None when missing or malformed."""
    if not isinstance(raw, str) or not _ID_PATTERN.fullmatch(raw.strip()):
        return None
    value = int(raw.strip())
    return value if 0 < value <= MAX_ID else None


def _anonymous(request: HttpRequest, default_next: str) -> HttpResponse:
    return redirect_to_login(safe_next_url(request, default_next))


@require_POST
def enroll(request: HttpRequest) -> HttpResponse:
    """POST ``course_id`` (+ optional ``next``): enroll in, or request, a published course."""
    if not request.user.is_authenticated:
        return _anonymous(request, "/courses/")
    course_id = _parse_id(request.POST.get("course_id"))
    if course_id is None:
        return _error(request, 400, "Choose a course to enroll in (course_id must be a number).")
    try:
        result = services.enrollment_request(user=request.user, course=course_id, session=request.session)
    except services.ServiceError as exc:
        return _service_error(request, exc)
    enrollment = result.enrollment
    if enrollment.status == enrollment.Status.PENDING_APPROVAL:
        messages.info(request, "Request sent. We will let you know as soon as staff approve it.")
    elif result.changed:
        messages.success(request, f"You are enrolled in {enrollment.course.title}.")
    else:
        messages.info(request, "You are already enrolled in this course.")
    return redirect(safe_next_url(request, selectors.page_url(enrollment.course, request) or "/dashboard/"))


def _parse_bool(raw: str | None, default: bool) -> bool | None:
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    return None


@require_POST
def lesson_complete(request: HttpRequest) -> HttpResponse:
    """POST ``lesson_id`` (+ optional ``position`` 0-100, ``completed`` and ``next``).

    Marks the lesson complete (or records the reading position with ``completed=0``) for a
    learner actively enrolled in its course.
    """
    if not request.user.is_authenticated:
        return _anonymous(request, "/courses/")
    lesson_id = _parse_id(request.POST.get("lesson_id"))
    if lesson_id is None:
        return _error(request, 400, "lesson_id must be a number.")
    completed = _parse_bool(request.POST.get("completed"), default=True)
    if completed is None:
        return _error(request, 400, "completed must be 1 or 0.")
    raw_position = request.POST.get("position")
    position: int | None = None
    if raw_position not in (None, ""):
        if not _POSITION_PATTERN.fullmatch(raw_position.strip()):
            return _error(request, 400, "position must be a whole number from 0 to 100.")
        position = int(raw_position.strip())
    try:
        result = services.lesson_progress_record(
            user=request.user, lesson=lesson_id, completed=completed, position=position, session=request.session
        )
    except services.ServiceError as exc:
        return _service_error(request, exc)
    next_lesson = selectors.lesson_link(result.next_lesson, request)
    if result.course_newly_completed:
        messages.success(request, "Course complete. Congratulations!")
    elif result.newly_completed:
        messages.success(request, f"Lesson complete: {result.completed_lessons} of {result.total_lessons} done.")
    # A lesson whose URL cannot be built (no site for it) must not become an empty redirect.
    default = next_lesson["url"] if next_lesson and next_lesson["url"] else "/dashboard/"
    return redirect(safe_next_url(request, default))


@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    """POST ``ids`` (one or more notification ids) or ``all=1``: mark the learner's notifications read."""
    if not request.user.is_authenticated:
        return _anonymous(request, "/dashboard/")
    mark_all = _parse_bool(request.POST.get("all"), default=False)
    raw_ids = request.POST.getlist("ids")
    if mark_all is None:
        return _error(request, 400, "all must be 1 or 0.")
    if mark_all and raw_ids:
        return _error(request, 400, "Send either ids or all=1, not both.")
    ids: list[int] | None = None
    if not mark_all:
        parsed = [_parse_id(raw) for raw in raw_ids]
        if not parsed or any(pk is None for pk in parsed):
            return _error(request, 400, "ids must be one or more notification numbers.")
        ids = [pk for pk in parsed if pk is not None]
    try:
        services.notification_mark_read(user=request.user, notification_ids=ids)
    except services.ServiceError as exc:
        return _service_error(request, exc)
    return redirect(safe_next_url(request, "/dashboard/"))


@require_safe
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """One page of enrollments (``?page=``) with progress and next lesson; notifications; resume.

    A malformed or too small ``page`` shows the first page, one past the end the last page.
    """
    data = selectors.dashboard(
        user_id=request.user.pk, request=request, who=access.viewer_from_request(request),
        page_number=selectors.dashboard_page_number(request.GET.get("page")),
    )
    due = date_selectors.learner_due_lists(
        user=request.user, now=timezone.now(), url=selectors.PageUrls(request).url
    )
    return render(
        request,
        "learning/dashboard.html",
        {
            "dashboard": data,
            "due": due,
            "enrollments_page": data.enrollments_page,
            # Counted with the notification list: the context processor's lazy count stays unused.
            "unread_notification_count": data.unread_count,
        },
    )


# --- Calendar feed (learning.calendar) -------------------------------------------------------------


@login_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    """The learner's calendar page: their secret feed URL (to copy into a calendar app), made
    or replaced with a POST (``action=create`` or ``regenerate``: the old URL stops working)."""
    from learning import calendar

    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("create", "regenerate"):
            return _error(request, 400, "Choose to create or regenerate your calendar link.")
        if action == "create":
            calendar.calendar_feed_get_or_create(user=request.user)
        else:
            calendar.calendar_feed_regenerate(user=request.user)
            messages.success(request, "Your calendar link was replaced; the old one no longer works.")
        return redirect("calendar_page")
    if request.method not in ("GET", "HEAD"):
        return _error(request, 405, "This page answers GET and POST only.")
    from learning.models import CalendarFeed

    feed = CalendarFeed.objects.filter(user_id=request.user.pk).first()
    feed_url = request.build_absolute_uri(f"/calendar/{feed.token}.ics") if feed else ""
    response = render(request, "learning/calendar.html", {"feed": feed, "feed_url": feed_url})
    response["Cache-Control"] = "no-store"  # the page holds a secret URL
    return response


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCal feed of the learner whose feed token is ``token`` (no session: calendar apps
    fetch it with the URL alone); 404 for an unknown or replaced token."""
    from django.http import Http404

    from learning import calendar

    feed = calendar.feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    body = calendar.feed_ics(user=feed.user, now=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="academy-due-dates.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
