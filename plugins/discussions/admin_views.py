"""Admin > a course's staff tools > Discussions: the unanswered-questions queue (oldest first),
posts waiting for approval or reported, the median time to a first staff answer, and the
course's discussion settings (pre-moderation, scoping by cohort)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from academy.sdk import CoursePage, PluginAdminView
from plugins.discussions import services


def format_duration(value: Any) -> str:
    """``1 h 5 min`` for a timedelta (``—`` for None)."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    return " ".join(part for part in parts if part)


class CourseQueueView(PluginAdminView):
    """One course's discussion queue, for its staff (the staff rule)."""

    plugin_label = "discussions"
    page_title = "Discussions"
    header_icon = "help"
    template_name = "discussions/admin/queue.html"

    def course(self) -> Any:
        """The course of the URL, checked (404 unknown or off, 403 not its staff)."""
        course = CoursePage.objects.filter(pk=self.kwargs["course_id"]).first()
        if course is None:
            raise Http404("No such course.")
        self.require_course(course)
        return course

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """The queue, the held and reported posts, the median and the settings."""
        context = super().get_context_data(**kwargs)
        course = self.course()
        queue = list(services.unanswered_questions(course.pk)[:200])
        context.update(
            course=course, queue=queue, queue_count=services.unanswered_questions(course.pk).count(),
            held=list(services.pending_posts(course.pk)[:200]),
            median=format_duration(services.median_first_staff_answer(course.pk)),
            conf=services.settings_for(course.pk),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Save the course's discussion settings."""
        course = self.course()
        services.settings_update(
            user=request.user, course=course,
            premoderate_first_posts=request.POST.get("premoderate_first_posts") == "on",
            scope_by_cohort=request.POST.get("scope_by_cohort") == "on",
        )
        messages.success(request, "Discussion settings saved.")
        return HttpResponseRedirect(reverse("discussions_queue", args=[course.pk]))
