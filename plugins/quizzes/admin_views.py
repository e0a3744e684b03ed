"""Wagtail admin: quiz results per quiz and per learner, with a formula-safe CSV export.

Read-only (attempts are written by ``plugins.quizzes.services`` only). Listed for users with
``quizzes.view_quizattempt`` or the progress report's ``learning.view_enrollment`` (or change),
and only attempts of the learners the access policy's staff rule lets them see with one of those
permissions (``staff_learner_rows_filter``: a Wagtail page permission on the course or above it,
or a teacher or assistant role in it, narrowed to their cohorts; superusers see all): the list,
its quiz and course filters, the CSV export and each attempt's page. Filter by quiz, course or result; search by learner; every
exported cell goes through ``learning.admin_views``' formula guard. Filtered to one quiz, the list
opens with the quiz's item analysis (``selectors.item_analysis``: per question, attempts, share
right and the most chosen wrong answer, over the attempts the user may see; one query).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import RelatedFieldListFilter
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from wagtail_modeladmin.helpers import PermissionHelper
from wagtail_modeladmin.options import ModelAdmin

from academy.sdk import (
    VIEW_LEARNERS_PERMISSIONS,
    CoursePage,
    NumericPkURLHelper,
    SafeLookupIndexView,
    VisibleCourseListFilter,
    may_open_staff_screen,
    may_see_learner,
    staff_course_filter,
    staff_learner_rows_filter,
    viewer,
)
from plugins.quizzes.models import QuizAttempt, QuizLessonPage
from plugins.quizzes.selectors import item_analysis

VIEW_PERMISSION = "quizzes.view_quizattempt"
# Who reads quiz results: this plugin's permission, or the progress report's (on enrollments).
RESULTS_PERMISSIONS = (VIEW_PERMISSION, *VIEW_LEARNERS_PERMISSIONS)


def can_view_results(user: Any) -> bool:
    """Whether ``user`` may read quiz results (of the courses and cohorts the staff rule gives
    them): one of ``RESULTS_PERMISSIONS``, or a teacher or assistant role."""
    return may_open_staff_screen(viewer(user), permissions=RESULTS_PERMISSIONS)


def visible_quizzes(user: Any) -> Q:
    """A filter on quiz pages keeping those in the courses whose results ``user`` may read (the
    staff rule with ``RESULTS_PERMISSIONS``: page permissions or a role in the course); one query
    for the courses' paths."""
    courses = CoursePage.objects.filter(staff_course_filter(viewer(user), prefix="", permissions=RESULTS_PERMISSIONS))
    within = Q(pk__in=[])
    for path in courses.values_list("path", flat=True):
        within |= Q(path__startswith=path)
    return within


def visible_attempts(user: Any) -> Q:
    """A filter on attempts keeping those ``user`` may read: of the learners whose enrollment in
    the attempt's course the staff rule with ``RESULTS_PERMISSIONS`` shows them (a teacher or
    assistant of one cohort reads that cohort's attempts only)."""
    return staff_learner_rows_filter(viewer(user), permissions=RESULTS_PERMISSIONS)


class VisibleQuizListFilter(RelatedFieldListFilter):
    """The quiz filter lists only quizzes in courses whose results the user may read."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[int, str]]:
        """Visible quizzes, by title."""
        quizzes = QuizLessonPage.objects.filter(visible_quizzes(request.user))
        return list(quizzes.order_by("title").values_list("pk", "title"))


class VisibleResultsCourseListFilter(VisibleCourseListFilter):
    """The course filter lists only courses whose results the user may read."""

    permissions = RESULTS_PERMISSIONS


#: The quiz filter's query parameter (Django's related-field list filter).
QUIZ_FILTER_PARAM = "quiz__id__exact"


class QuizResultsIndexView(SafeLookupIndexView):
    """The results list; filtered to one quiz the user may see, with its item analysis on top."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """The list's context, and ``analysis`` / ``analysed_quiz`` when one quiz is chosen."""
        context = super().get_context_data(**kwargs)
        raw = self.request.GET.get(QUIZ_FILTER_PARAM, "")
        quiz = None
        if raw.isascii() and raw.isdigit() and len(raw) < 19:
            quiz = QuizLessonPage.objects.filter(visible_quizzes(self.request.user), pk=int(raw)).first()
        context["analysed_quiz"] = quiz
        context["analysis"] = (
            item_analysis(quiz=quiz, attempts=QuizAttempt.objects.filter(visible_attempts(self.request.user)))
            if quiz is not None else []
        )
        return context


class ReadOnlyResultsPermissionHelper(PermissionHelper):
    """List, inspect and export; never create, edit or delete."""

    def user_can_list(self, user: Any) -> bool:
        """Quiz results or progress report readers."""
        return can_view_results(user)

    def user_can_inspect_obj(self, user: Any, obj: Any) -> bool:
        """Readers, for an attempt of a learner whose results they may read (as the list is;
        no query per row of the list but for a role limited to cohorts)."""
        if not can_view_results(user):
            return False
        if obj.course is None:  # the course was deleted: the list's filter decides
            return QuizAttempt.objects.filter(visible_attempts(user), pk=obj.pk).exists()
        return may_see_learner(viewer(user), obj.course, obj.user_id, permissions=RESULTS_PERMISSIONS)

    def user_can_create(self, user: Any) -> bool:
        """Attempts are started by learners only."""
        return False

    def user_can_edit_obj(self, user: Any, obj: Any) -> bool:
        """Scores stay as graded."""
        return False

    def user_can_delete_obj(self, user: Any, obj: Any) -> bool:
        """Attempts are kept (they count towards the limit and the completion)."""
        return False


class QuizAttemptAdmin(ModelAdmin):
    """Every attempt: learner, quiz, course, score, pass, times."""

    model = QuizAttempt
    menu_label = "Quiz results"
    menu_icon = "tasks"
    menu_order = 300
    add_to_settings_menu = False
    inspect_view_enabled = True
    permission_helper_class = ReadOnlyResultsPermissionHelper
    url_helper_class = NumericPkURLHelper
    index_view_class = QuizResultsIndexView
    index_template_name = "quizzes/admin/results_index.html"
    history_view_enabled = False
    list_display = ("learner", "quiz_title", "course_title", "number", "score_label", "passed", "started_at", "submitted_at")
    list_filter = (("quiz", VisibleQuizListFilter), ("course", VisibleResultsCourseListFilter), "passed")
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name", "quiz__title")
    list_per_page = 100
    # Text columns: Wagtail's export shows 0 and False as "-" (then made "'-" by the formula guard).
    list_export = (
        "learner", "email", "quiz_title", "course_title", "number", "points", "max_points", "percent_text",
        "result", "started_at", "submitted_at",
    )
    export_filename = "quiz-results"
    inspect_view_fields = (
        "user", "quiz", "course", "number", "started_at", "deadline", "submitted_at", "score", "max_score",
        "percent", "pass_mark", "passed", "results",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuizAttempt]:
        """Attempts of the learners whose results the user may read, learner, quiz and course
        joined (one query)."""
        rows = super().get_queryset(request).select_related("user", "quiz", "course").defer("questions")
        return rows.filter(visible_attempts(request.user))

    def learner(self, obj: QuizAttempt) -> str:
        """Learner's name and username."""
        full_name = obj.user.get_full_name()
        return f"{full_name} ({obj.user.get_username()})" if full_name else obj.user.get_username()

    def email(self, obj: QuizAttempt) -> str:
        """Learner's email."""
        return obj.user.email

    def quiz_title(self, obj: QuizAttempt) -> str:
        """The quiz's title."""
        return obj.quiz.title

    def course_title(self, obj: QuizAttempt) -> str:
        """The course's title (empty when the course was deleted)."""
        return obj.course.title if obj.course is not None else ""

    def score_label(self, obj: QuizAttempt) -> str:
        """e.g. "80.00% (4 of 5)", or how far an ungraded attempt got."""
        if obj.submitted_at is None:
            return "not submitted"
        return f"{obj.percent_label} ({obj.score} of {obj.max_score})"

    def points(self, obj: QuizAttempt) -> str:
        """Points scored (empty before submitting)."""
        return "" if obj.score is None else str(obj.score)

    def max_points(self, obj: QuizAttempt) -> str:
        """Points available (empty before submitting)."""
        return "" if obj.max_score is None else str(obj.max_score)

    def percent_text(self, obj: QuizAttempt) -> str:
        """The score in percent (empty before submitting)."""
        return "" if obj.percent is None else str(obj.percent)

    def result(self, obj: QuizAttempt) -> str:
        """passed, not passed, or not submitted."""
        if obj.submitted_at is None:
            return "not submitted"
        return "passed" if obj.passed else "not passed"

    learner.short_description = "Learner"  # type: ignore[attr-defined]
    email.short_description = "Email"  # type: ignore[attr-defined]
    quiz_title.short_description = "Quiz"  # type: ignore[attr-defined]
    quiz_title.admin_order_field = "quiz__title"  # type: ignore[attr-defined]
    course_title.short_description = "Course"  # type: ignore[attr-defined]
    score_label.short_description = "Score"  # type: ignore[attr-defined]
    score_label.admin_order_field = "percent"  # type: ignore[attr-defined]
    points.short_description = "Points"  # type: ignore[attr-defined]
    max_points.short_description = "Max points"  # type: ignore[attr-defined]
    percent_text.short_description = "Percent"  # type: ignore[attr-defined]
    result.short_description = "Result"  # type: ignore[attr-defined]
