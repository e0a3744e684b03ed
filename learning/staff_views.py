"""Course staff tools in the Wagtail admin, reached from a course page (header button "Learners"):

- ``/admin/learning/courses/<id>/learners/``: the course's learners with status, progress,
  last activity and a tick per lesson; search and filters (status, not started, stuck); a
  form to enroll one learner (an unknown email address is invited) and a button to unenroll
  one; approve or decline pending requests (``.../learners/decide/``: a row, the ticked rows or
  every pending one the search matches); the ticked rows to "Message learners"; ``?export=csv``
  for the progress export (``learning.exports``: a column per live lesson, plugins' columns).
- ``.../learners/<enrollment id>/``: one learner's timeline (enrolled, approvals, lessons).
- ``/admin/learning/drafts/<page id>/delete/``: an editor deletes a draft of their own that
  was never published (with its draft subpages), which Wagtail's delete may refuse them.
- ``.../analytics/``: the lesson funnel, enrollments and completions over time, median time
  to complete and where learners stop, as SVG charts with the numbers beside them, and the
  figures apps and plugins add (``learning.analytics_figures``); CSV export.

Every learner screen takes ``?cohort=<id>`` (one of the course's cohorts the user may see:
``learning.cohorts.learner_scope``); a teacher or assistant of some cohorts sees only theirs.

Who may open them is the access policy's ``may_see_learners`` (Wagtail page permissions on the
course, superusers all); writes also need ``may_manage_learners`` and go through
``learning.services``. Refusals are 403 (someone else's course) and 404 (no such course).
"""

from __future__ import annotations

import csv
import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from wagtail.actions.delete_page import DeletePageAction
from wagtail.models import Page

from courses.models import CoursePage
from learning import (
    access,
    analytics_figures,
    bulk,
    charts,
    cohorts,
    exports,
    messaging,
    services,
    staff_selectors,
)
from learning.admin_views import export_cell
from learning.models import BulkEnrollment, Cohort, CourseMessage, Enrollment

LEARNERS_PER_PAGE = 50
# Page numbers beyond this are not served (a list this long is searched, not paged through).
MAX_PAGE_NUMBER = 10_000
FILTERS = [
    ("", "Everyone"),
    *Enrollment.Status.choices,
    (staff_selectors.NOT_STARTED, "Not started"),
    (staff_selectors.STUCK, "No activity for 7 days"),
]
# Recipients named in a message's preview, and sent messages listed.
PREVIEW_RECIPIENTS = 20
MESSAGES_LISTED = 20
# Recent uploads listed on the bulk enrollment page.
BULK_JOBS_LISTED = 10
# An upload waiting for its confirmation: how long it is kept, and its random id.
PENDING_SECONDS = 3600
PENDING_ID_BYTES = 24
PENDING_ID_MAX_LENGTH = 64
# Days shown in the "over time" charts.
TIMELINE_DAYS = 60


def _course_for(request: HttpRequest, course_id: int, *, manage: bool = False) -> CoursePage:
    """The course, if ``request.user`` may see (or, with ``manage``, manage) its learners."""
    course = CoursePage.objects.filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course.")
    who = access.viewer(request.user)
    allowed = access.may_manage_learners(who, course) if manage else access.may_see_learners(who, course)
    if not allowed:
        raise PermissionDenied("You may not see the learners of this course.")
    return course


class CohortChoice:
    """The cohorts a staff member may pick on a course's screen and the one chosen
    (``?cohort=<id>``, or ``cohort`` in a form post), with the filter on enrollments it gives."""

    def __init__(self, request: HttpRequest, course: CoursePage, *, manage: bool = False) -> None:
        who = access.viewer(request.user)
        visible = access.managed_cohort_ids(who, course) if manage else access.staff_cohort_ids(who, course)
        self.limited = visible is not None  # some cohorts only (a teacher or assistant of those)
        self.cohorts: list[Cohort] = cohorts.course_cohorts(course=course, visible=visible)
        raw = (request.POST.get("cohort") if request.method == "POST" else None) or request.GET.get("cohort", "")
        self.chosen: Cohort | None = None
        if raw:
            self.chosen = next((cohort for cohort in self.cohorts if str(cohort.pk) == raw), None)
            if self.chosen is None:
                raise Http404("No such cohort in this course.")
        self.scope = cohorts.learner_scope(who, course, cohort=self.chosen, manage=manage)
        self.default_id = next((cohort.pk for cohort in self.cohorts if cohort.is_default), None)

    @property
    def query(self) -> str:
        """The choice as a query string parameter (empty when none)."""
        return f"cohort={self.chosen.pk}" if self.chosen else ""

    def name_of(self, enrollment: Enrollment) -> str:
        """The cohort an enrollment counts in, by name (no query: the rows join their cohort)."""
        if enrollment.cohort_id is not None and enrollment.cohort is not None:
            return enrollment.cohort.name
        default = next((cohort for cohort in self.cohorts if cohort.is_default), None)
        return default.name if default else ""


def _int(raw: str | None, default: int) -> int:
    try:
        value = int(raw or default)
    except ValueError:
        return default
    return value if 0 < value <= MAX_PAGE_NUMBER else default


def learners(request: HttpRequest, course_id: int) -> HttpResponse:
    """The course's learners: one row each with a tick per lesson; search, filter, paginate."""
    course = _course_for(request, course_id)
    search = request.GET.get("q", "")[: staff_selectors.SEARCH_MAX_LENGTH]
    status = request.GET.get("status", "")
    if status not in {value for value, _label in FILTERS}:
        status = ""
    choice = CohortChoice(request, course)
    if request.GET.get("export") == "csv":
        return _progress_export(course, search=search, status=status, scope=choice.scope)
    rows = staff_selectors.course_learners(course_id=course.pk, search=search, status=status, scope=choice.scope)
    page = Paginator(rows, LEARNERS_PER_PAGE).get_page(_int(request.GET.get("p"), 1))
    enrollments = list(page.object_list)
    lessons = staff_selectors.course_lessons(course=course)
    done = staff_selectors.completed_lessons_of(course_id=course.pk, user_ids=[row.user_id for row in enrollments])
    table = [
        {
            "enrollment": row,
            "name": staff_selectors.learner_name(row.user),
            "cohort": choice.name_of(row),
            "ticks": [lesson.id in done.get(row.user_id, ()) for lesson in lessons],
        }
        for row in enrollments
    ]
    who = access.viewer(request.user)
    can_manage = access.may_manage_learners(who, course)
    pending_matching = (
        staff_selectors.course_learners(
            course_id=course.pk, search=search, status=Enrollment.Status.PENDING_APPROVAL, scope=choice.scope
        ).count()
        if can_manage else 0
    )
    return render(request, "learning/admin/course_learners.html", {
        "course": course,
        "lessons": lessons,
        "table": table,
        "page": page,
        "search": search,
        "status": status,
        "filters": FILTERS,
        "can_manage": can_manage,
        "pending_matching": pending_matching,
        "cohort_choice": choice,
        "placeable": cohorts.course_cohorts(course=course, visible=access.managed_cohort_ids(who, course))
        if can_manage else [],
        "urls": course_urls(course.pk),
    })


def learner_detail(request: HttpRequest, course_id: int, enrollment_id: int) -> HttpResponse:
    """One learner in one course: progress, lesson by lesson, and their timeline."""
    course = _course_for(request, course_id)
    enrollment = Enrollment.objects.select_related("user", "decided_by", "cohort").filter(pk=enrollment_id, course_id=course.pk).first()
    who = access.viewer(request.user)
    if enrollment is not None:
        enrollment.course = course
    if enrollment is None or not access.may_see_enrollment(who, enrollment):
        raise Http404("No such learner in this course.")
    may_move = access.may_manage_enrollment(who, enrollment)
    lessons = staff_selectors.course_lessons(course=course)
    done = staff_selectors.completed_lessons_of(course_id=course.pk, user_ids=[enrollment.user_id])
    return render(request, "learning/admin/course_learner.html", {
        "course": course,
        "enrollment": enrollment,
        "name": staff_selectors.learner_name(enrollment.user),
        "lessons": [(lesson, lesson.id in done.get(enrollment.user_id, ())) for lesson in lessons],
        "timeline": staff_selectors.learner_timeline(enrollment=enrollment),
        "can_manage": may_move,
        "cohort": cohorts.cohort_of(enrollment),
        "move_to": cohorts.course_cohorts(course=course, visible=access.managed_cohort_ids(who, course))
        if may_move else [],
        "urls": course_urls(course.pk),
    })


@require_POST
def move(request: HttpRequest, course_id: int, enrollment_id: int) -> HttpResponse:
    """Move one learner to another cohort of the course (``cohorts.enrollment_move``: audited)."""
    course = _course_for(request, course_id, manage=True)
    enrollment = Enrollment.objects.select_related("user").filter(pk=enrollment_id, course_id=course.pk).first()
    if enrollment is None:
        raise Http404("No such learner in this course.")
    back = reverse("learning_staff:learner", args=[course.pk, enrollment.pk])
    try:
        target = int(request.POST.get("cohort", ""))
    except ValueError:
        messages.error(request, "Choose the cohort to move the learner to.")
        return redirect(back)
    try:
        result = cohorts.enrollment_move(enrollment=enrollment.pk, cohort=target, by=request.user)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    name = staff_selectors.learner_name(enrollment.user)
    if result.changed:
        messages.success(request, f"{name} is now in {result.enrollment.cohort}.")
    else:
        messages.info(request, f"{name} was already in {result.enrollment.cohort}.")
    return redirect(back)


@require_POST
def enroll(request: HttpRequest, course_id: int) -> HttpResponse:
    """Enroll one user (by username or email) through ``enrollment_add``; an email address that
    no account uses gets an invitation, as in bulk enrollment (``bulk.invitation_send``)."""
    course = _course_for(request, course_id, manage=True)
    identifier = (request.POST.get("learner") or "").strip()[:254]
    users = get_user_model().objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))[:2]
    found = list(users) if identifier else []
    if not found and "@" in identifier:
        try:
            invitation = bulk.invitation_send(email=identifier, course=course, by=request.user)
        except services.ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"No account uses {invitation.email}: an invitation to sign up and join "
                                      f"{course.title} is on its way.")
        return redirect(course_urls(course.pk)["learners"])
    if len(found) != 1:
        messages.error(request, f"No single user has the username or email “{identifier}”." if identifier
                       else "Type a username or an email address.")
        return redirect(course_urls(course.pk)["learners"])
    try:
        cohort = int(request.POST["cohort"]) if request.POST.get("cohort") else None
    except ValueError:
        cohort = -1  # refused by the service as a cohort of no course
    try:
        result = services.enrollment_add(user=found[0], course=course, by=request.user, cohort=cohort)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(course_urls(course.pk)["learners"])
    name = staff_selectors.learner_name(found[0])
    if result.changed:
        messages.success(request, f"{name} is now enrolled in {course.title}.")
    else:
        messages.info(request, f"{name} was already enrolled in {course.title}.")
    return redirect(course_urls(course.pk)["learners"])


@require_POST
def unenroll(request: HttpRequest, course_id: int, enrollment_id: int) -> HttpResponse:
    """Cancel one learner's enrollment (a staff decision, audited, the learner is told)."""
    course = _course_for(request, course_id, manage=True)
    enrollment = Enrollment.objects.select_related("user").filter(pk=enrollment_id, course_id=course.pk).first()
    if enrollment is not None:
        enrollment.course = course
    if enrollment is None or not access.may_see_enrollment(access.viewer(request.user), enrollment):
        raise Http404("No such learner in this course.")
    try:
        result = services.enrollment_cancel(enrollment=enrollment.pk, by=request.user, as_staff=True)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(course_urls(course.pk)["learners"])
    name = staff_selectors.learner_name(enrollment.user)
    if result.changed:
        messages.success(request, f"{name} was unenrolled from {course.title}; their progress is kept.")
    else:
        messages.info(request, f"{name} was already unenrolled.")
    return redirect(course_urls(course.pk)["learners"])


# --- Approving and declining requests ----------------------------------------------------------

# The most enrollments one approve/decline submission decides (a longer list is filtered first).
MAX_DECISIONS = 1000
DECISIONS = {"approve": "approved", "decline": "declined"}


def _pending_to_decide(request: HttpRequest, course: CoursePage) -> list[int]:
    """The pending enrollments a decision names: the ticked ``enrollment`` ids, or with
    ``scope=filtered`` every pending learner matching the list's search (``q``); always within the
    learners the user manages (their cohorts, or the chosen ``cohort``)."""
    pending = staff_selectors.course_learners(
        course_id=course.pk, search=request.POST.get("q", "")[: staff_selectors.SEARCH_MAX_LENGTH],
        status=Enrollment.Status.PENDING_APPROVAL, scope=CohortChoice(request, course, manage=True).scope,
    )
    if request.POST.get("scope") != "filtered":
        ids = {int(raw) for raw in request.POST.getlist("enrollment")[:MAX_DECISIONS + 1] if raw.isdigit() and len(raw) < 19}
        pending = pending.filter(pk__in=ids)
    return list(pending.values_list("pk", flat=True)[: MAX_DECISIONS + 1])


@require_POST
def decide(request: HttpRequest, course_id: int) -> HttpResponse:
    """Approve or decline pending requests from the learner list (one row, the ticked rows, or
    every pending learner the list's search matches), each through the same service as
    Learning > Enrollments (``enrollment_approve``; declining is ``enrollment_cancel`` as staff)."""
    course = _course_for(request, course_id, manage=True)
    action = request.POST.get("action", "")
    back = course_urls(course.pk)["learners"]
    if action not in DECISIONS:
        messages.error(request, "Choose to approve or to decline.")
        return redirect(back)
    ids = _pending_to_decide(request, course)
    if not ids:
        messages.error(request, "No pending request was chosen (it may have been decided already).")
        return redirect(back)
    if len(ids) > MAX_DECISIONS:
        messages.error(request, f"That is more than {MAX_DECISIONS} requests at once; narrow the list with a search.")
        return redirect(back)
    decided, refused = 0, []
    for enrollment_id in ids:
        try:
            if action == "approve":
                result = services.enrollment_approve(enrollment=enrollment_id, by=request.user)
            else:
                result = services.enrollment_cancel(enrollment=enrollment_id, by=request.user, as_staff=True)
        except services.ServiceError as exc:
            refused.append(exc.message)
            continue
        decided += int(result.changed)
    if decided:
        messages.success(request, f"{decided} request{'s' if decided != 1 else ''} {DECISIONS[action]}.")
    if refused:
        messages.error(request, f"{len(refused)} not {DECISIONS[action]}: {refused[0]}")
    return redirect(back)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _progress_export(course: CoursePage, *, search: str, status: str, scope: Q | None) -> StreamingHttpResponse:
    """The learner list (its search and filter) as CSV: progress, each live lesson's completion
    time and the plugins' columns (``learning.exports``)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([export_cell(cell, "csv") for cell in line])
         for line in exports.progress_rows(course=course, search=search, status=status, scope=scope)),
        content_type="text/csv",
    )
    response["Content-Disposition"] = f'attachment; filename="course-{course.pk}-progress.csv"'
    return response


def analytics(request: HttpRequest, course_id: int) -> HttpResponse:
    """Charts and numbers of one course; ``?export=csv`` downloads the lesson funnel."""
    course = _course_for(request, course_id)
    choice = CohortChoice(request, course)
    data = staff_selectors.course_analytics(course=course, scope=choice.scope)
    if request.GET.get("export") == "csv":
        writer = csv.writer(_Echo())
        header = ["Lesson number", "Lesson", "Published", "Reached", "Completed", "Stopped here"]
        lines = [header] + [
            [row.lesson.number, row.lesson.title, "yes" if row.lesson.live else "no", row.reached, row.completed,
             row.stopped_here]
            for row in data.funnel
        ]
        response = StreamingHttpResponse(
            (writer.writerow([export_cell(cell, "csv") for cell in line]) for line in lines), content_type="text/csv"
        )
        suffix = f"-cohort-{choice.chosen.pk}" if choice.chosen else ""
        response["Content-Disposition"] = f'attachment; filename="course-{course.pk}{suffix}-lessons.csv"'
        return response
    categories = [f"{row.lesson.number}. {row.lesson.title}" for row in data.funnel]
    funnel_chart = charts.bar_chart(
        title=f"Lesson funnel of {course.title}",
        categories=categories,
        series=[
            charts.Series("Reached", [row.reached for row in data.funnel]),
            charts.Series("Completed", [row.completed for row in data.funnel]),
            charts.Series("Stopped here", [row.stopped_here for row in data.funnel]),
        ],
    )
    recent_enrollments = data.enrollments_by_day[-TIMELINE_DAYS:]
    recent_completions = data.completions_by_day[-TIMELINE_DAYS:]
    return render(request, "learning/admin/course_analytics.html", {
        "course": course,
        "data": data,
        "figures": analytics_figures.course_figures(course),
        "funnel_chart": funnel_chart,
        "enrollments_chart": charts.column_chart(
            title="Enrollments per day", labels=[day.isoformat() for day, _n in recent_enrollments],
            values=[n for _day, n in recent_enrollments],
        ),
        "completions_chart": charts.column_chart(
            title="Completions per day", labels=[day.isoformat() for day, _n in recent_completions],
            values=[n for _day, n in recent_completions],
        ),
        "recent_enrollments": recent_enrollments,
        "recent_completions": recent_completions,
        "cohort_choice": choice,
        "urls": course_urls(course.pk),
    })


# --- Bulk enrollment ----------------------------------------------------------------------------


def _posted_cohort(request: HttpRequest) -> int | None:
    """The cohort chosen in a form post: None for none, -1 for a value that is no id (the
    services refuse it as a cohort of no course, a 400)."""
    raw = request.POST.get("cohort", "")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return -1


def _pending_key(pending_id: str) -> str:
    return f"academy:bulk-pending:{pending_id}"


def _confirmed_upload(request: HttpRequest, course: CoursePage) -> BulkEnrollment:
    """Store the upload that ``request.user`` confirmed (``pending`` id, ``confirm`` = the count
    they saw). A confirmation is used once and only by its uploader, for its course."""
    pending_id = request.POST.get("pending", "")
    pending = cache.get(_pending_key(pending_id)) if len(pending_id) <= PENDING_ID_MAX_LENGTH else None
    if (
        not isinstance(pending, dict)
        or pending.get("user_id") != request.user.pk
        or pending.get("course_id") != course.pk
        or not cache.delete(_pending_key(pending_id))  # once: a second post finds nothing
    ):
        raise services.InvalidInput("This upload is no longer waiting for a confirmation; upload the file again.")
    try:
        confirmed = int(request.POST.get("confirm", ""))
    except ValueError:
        confirmed = 0
    return bulk.bulk_enrollment_create(
        course=course, by=request.user, upload=pending["source"].encode(), mode=pending["mode"],
        confirmed_invitations=confirmed, cohort=pending.get("cohort"),
    )


def bulk_upload(request: HttpRequest, course_id: int) -> HttpResponse:
    """Upload a CSV of email addresses to enroll (or unenroll); the work runs as a task. An upload
    that sends more than ``BULK_INVITATIONS_CONFIRM_ABOVE`` invitations is kept aside (the cache,
    ``PENDING_SECONDS``) and shown with its count; only its confirmation stores it."""
    course = _course_for(request, course_id, manage=True)
    error = ""
    status = 200
    refusal: services.ServiceError | None = None
    confirm: dict[str, Any] | None = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if "pending" in request.POST:
                job = _confirmed_upload(request, course)
            elif upload is None:
                raise services.InvalidInput("Choose a CSV file.")
            elif upload.size > bulk.MAX_UPLOAD_BYTES:
                raise services.InvalidInput(f"The file is larger than {bulk.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
            else:
                job = bulk.bulk_enrollment_create(
                    course=course, by=request.user, upload=upload.read(), mode=request.POST.get("mode", "enroll"),
                    cohort=_posted_cohort(request),
                )
        except bulk.ConfirmationNeeded as exc:
            pending_id = secrets.token_urlsafe(PENDING_ID_BYTES)
            cache.set(_pending_key(pending_id), {
                "user_id": request.user.pk, "course_id": course.pk, "mode": exc.plan.mode, "source": exc.plan.source,
                "cohort": _posted_cohort(request),
            }, PENDING_SECONDS)
            confirm = {"pending": pending_id, "invitations": exc.plan.invitations, "rows": exc.plan.rows}
        except services.ServiceError as exc:
            refusal = exc
            error, status = exc.message, exc.status_code
        else:
            return redirect("learning_staff:bulk_job", course.pk, job.pk)
    jobs = BulkEnrollment.objects.filter(course=course).select_related("created_by")[:BULK_JOBS_LISTED]
    return _with_retry_after(refusal, render(request, "learning/admin/bulk_upload.html", {
        "course": course, "error": error, "jobs": jobs, "max_rows": bulk.MAX_ROWS, "urls": course_urls(course.pk),
        "confirm": confirm, "confirm_above": settings.BULK_INVITATIONS_CONFIRM_ABOVE,
        "cohorts": cohorts.course_cohorts(course=course, visible=access.managed_cohort_ids(access.viewer(request.user), course)),
        "chosen_cohort": request.POST.get("cohort", ""),
    }, status=status))


def _with_retry_after(refusal: services.ServiceError | None, response: HttpResponse) -> HttpResponse:
    """``response`` with ``Retry-After`` when it answers a limit's refusal, as the API's 429 has."""
    if isinstance(refusal, services.RateLimited):
        response["Retry-After"] = refusal.retry_after_header
    return response


def bulk_job(request: HttpRequest, course_id: int, job_id: int) -> HttpResponse:
    """A bulk job's progress bar and, when done, its report; ``?format=json`` for polling."""
    course = _course_for(request, course_id)
    job = BulkEnrollment.objects.filter(pk=job_id, course=course).first()
    if job is None:
        raise Http404("No such upload.")
    report = job.report or {}
    counts = {key: len(report.get(key, [])) for key in ("added", "already", "invited", "removed", "not_enrolled", "invalid")}
    if request.GET.get("format") == "json":
        return JsonResponse({
            "status": job.status, "processed": job.processed_rows, "total": job.total_rows,
            "percent": job.percent, "counts": counts,
        })
    return render(request, "learning/admin/bulk_job.html", {
        "course": course, "job": job, "report": report, "counts": counts, "urls": course_urls(course.pk),
    })


# --- Messages to learners --------------------------------------------------------------------------


def compose_message(request: HttpRequest, course_id: int) -> HttpResponse:
    """Write to the course's learners (all or a filtered subset): preview, then send."""
    course = _course_for(request, course_id, manage=True)
    values = {key: request.POST.get(key, "") for key in ("audience", "subject", "body")}
    chosen = messaging.selected_ids(request.POST.getlist("enrollment")) if values["audience"] == messaging.SELECTED else []
    choice = CohortChoice(request, course, manage=True)
    error = ""
    status = 200
    refusal: services.ServiceError | None = None
    preview = None
    if request.method == "POST":
        if request.POST.get("action") == "send":
            try:
                message = messaging.course_message_create(
                    course=course, by=request.user, audience_key=values["audience"],
                    subject=values["subject"], body=values["body"], enrollment_ids=chosen,
                    cohort=choice.chosen,
                )
            except services.ServiceError as exc:
                refusal = exc
                error, status = exc.message, exc.status_code
            else:
                messages.success(request, f"Your message is on its way to {message.recipient_count} learner{'s' if message.recipient_count != 1 else ''}.")
                return redirect("learning_staff:message", course.pk)
        elif values["audience"] == messaging.SELECTED and not chosen:
            error, status = "Tick the learners to message on the learner list first.", 400
        else:
            recipients = messaging.audience(
                course_id=course.pk, audience=values["audience"], scope=choice.scope, enrollment_ids=chosen
            )
            preview = {
                "count": recipients.count(),
                "names": [staff_selectors.learner_name(row.user) for row in recipients[:PREVIEW_RECIPIENTS]],
            }
    sent = CourseMessage.objects.filter(course=course).select_related("sender")[:MESSAGES_LISTED]
    return _with_retry_after(refusal, render(request, "learning/admin/course_message.html", {
        "course": course, "values": values, "error": error, "preview": preview, "sent": sent,
        "audiences": messaging.AUDIENCES, "preview_limit": PREVIEW_RECIPIENTS, "urls": course_urls(course.pk),
        "chosen": chosen,
        "cohort_choice": choice,
    }, status=status))


# --- Editors' own drafts ---------------------------------------------------------------------------


def may_delete_own_draft(user: Any, page: Page) -> bool:
    """Whether ``user`` may delete ``page`` as their own stray draft: they may edit it, and it and
    every page below it are theirs and were never published (Wagtail alone asks for the
    bulk-delete permission when the draft has children, e.g. an abandoned course with lessons).
    Two queries."""
    if page.depth <= 2 or page.first_published_at is not None or page.live or page.owner_id != user.pk:
        return False
    if not page.permissions_for_user(user).can_edit():
        return False
    subtree = Page.objects.descendant_of(page, inclusive=True)
    return not subtree.exclude(owner_id=user.pk, live=False, first_published_at__isnull=True).exists()


def delete_own_draft(request: HttpRequest, page_id: int) -> HttpResponse:
    """Confirm (GET) and delete (POST) a draft the editor owns that was never published."""
    page = Page.objects.filter(pk=page_id).first()
    if page is None:
        raise Http404("No such page.")
    if not may_delete_own_draft(request.user, page):
        raise PermissionDenied("Only drafts you own that were never published can be deleted here.")
    descendants = page.get_descendant_count()
    if request.method == "POST":
        parent_id = page.get_parent().pk
        title = page.get_admin_display_title()
        DeletePageAction(page.specific, user=request.user).execute(skip_permission_checks=True)
        messages.success(request, f"Draft “{title}” deleted{f' with its {descendants} draft subpages' if descendants else ''}.")
        return redirect("wagtailadmin_explore", parent_id)
    return render(request, "learning/admin/delete_draft.html", {"page": page, "descendants": descendants})


def course_urls(course_id: int) -> dict[str, str]:
    """The URLs of one course's learner screens, for links and redirects within them (the tabs
    of every staff tool come from ``learning.staff_links``)."""
    return {
        name: reverse(f"learning_staff:{name}", args=[course_id])
        for name in ("learners", "enroll", "analytics", "bulk", "message", "decide")
    }


urlpatterns = [
    path("courses/<int:course_id>/learners/", learners, name="learners"),
    path("courses/<int:course_id>/learners/enroll/", enroll, name="enroll"),
    path("courses/<int:course_id>/learners/decide/", decide, name="decide"),
    path("courses/<int:course_id>/learners/<int:enrollment_id>/", learner_detail, name="learner"),
    path("courses/<int:course_id>/learners/<int:enrollment_id>/unenroll/", unenroll, name="unenroll"),
    path("courses/<int:course_id>/learners/<int:enrollment_id>/move/", move, name="move"),
    path("courses/<int:course_id>/analytics/", analytics, name="analytics"),
    path("courses/<int:course_id>/bulk/", bulk_upload, name="bulk"),
    path("courses/<int:course_id>/bulk/<int:job_id>/", bulk_job, name="bulk_job"),
    path("courses/<int:course_id>/message/", compose_message, name="message"),
    path("drafts/<int:page_id>/delete/", delete_own_draft, name="delete_draft"),
]
