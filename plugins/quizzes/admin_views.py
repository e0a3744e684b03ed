"""Wagtail admin: quiz results per quiz and per learner, with a formula-safe CSV export.

Read-only (attempts are written by ``plugins.quizzes.services`` only). Listed for users with
``quizzes.view_quizattempt`` or the progress report's ``learning.view_enrollment``, and only
attempts in courses the access policy lets them see in the admin. Filter by quiz, course or
result; search by learner; every exported cell goes through ``learning.admin_views``' formula
guard.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import RelatedFieldListFilter
from django.db.models import QuerySet
from django.http import HttpRequest
from wagtail_modeladmin.helpers import PermissionHelper
from wagtail_modeladmin.options import ModelAdmin

from learning import access
from learning.admin_views import (
    NumericPkURLHelper,
    SafeLookupIndexView,
    VisibleCourseListFilter,
    can_view_enrollments,
)
from plugins.quizzes.models import QuizAttempt, QuizLessonPage

VIEW_PERMISSION = "quizzes.view_quizattempt"


def can_view_results(user: Any) -> bool:
    """Whether ``user`` may read quiz results."""
    return bool(user.has_perm(VIEW_PERMISSION) or can_view_enrollments(user))


class VisibleQuizListFilter(RelatedFieldListFilter):
    """The quiz filter lists only quizzes in courses the user may see."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[int, str]]:
        """Visible quizzes, by title."""
        quizzes = QuizLessonPage.objects.filter(access.admin_course_filter(access.viewer(request.user), prefix=""))
        return list(quizzes.order_by("title").values_list("pk", "title"))


class ReadOnlyResultsPermissionHelper(PermissionHelper):
    """List, inspect and export; never create, edit or delete."""

    def user_can_list(self, user: Any) -> bool:
        """Quiz results or progress report readers."""
        return can_view_results(user)

    def user_can_inspect_obj(self, user: Any, obj: Any) -> bool:
        """Readers, for an attempt in a course they may see."""
        return can_view_results(user) and (obj.course is None or access.admin_may_see(access.viewer(user), obj.course))

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
    index_view_class = SafeLookupIndexView
    history_view_enabled = False
    list_display = ("learner", "quiz_title", "course_title", "number", "score_label", "passed", "started_at", "submitted_at")
    list_filter = (("quiz", VisibleQuizListFilter), ("course", VisibleCourseListFilter), "passed")
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
        """Attempts in courses the user may see, learner, quiz and course joined (one query)."""
        rows = super().get_queryset(request).select_related("user", "quiz", "course").defer("questions")
        return rows.filter(access.admin_course_filter(access.viewer(request.user), prefix="quiz__"))

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
        return f"{obj.percent}% ({obj.score} of {obj.max_score})"

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
