"""Wagtail hooks of the quizzes plugin: the Quiz results list in the admin menu, the accessible
names of the quiz editor's fields (``static/quizzes/editor-labels.js``), and each quiz's best
score in a course's progress export."""

from typing import Any

from django.db.models import Max
from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks
from wagtail_modeladmin.options import modeladmin_register

from academy.sdk import PROGRESS_EXPORT_COLUMNS_HOOK, ExportColumn, is_active
from plugins.quizzes.admin_views import QuizAttemptAdmin
from plugins.quizzes.models import QuizAttempt, QuizLessonPage

modeladmin_register(QuizAttemptAdmin)


@hooks.register("insert_editor_js")
def quiz_editor_labels() -> str:
    """Names for the rich-text prompts and the accepted-answer inputs of a quiz's questions (the
    block definitions stay as migrated: the names are set in the browser, from the labels)."""
    return format_html('<script src="{}" defer></script>', static("quizzes/editor-labels.js"))


def _best_percent(quiz_id: int) -> Any:
    def values(user_ids: list[int]) -> dict[int, Any]:
        rows = (
            QuizAttempt.objects.filter(quiz_id=quiz_id, user_id__in=user_ids, submitted_at__isnull=False)
            .values("user_id").annotate(best=Max("percent")).order_by().values_list("user_id", "best")
        )
        return dict(rows)

    return values


@hooks.register(PROGRESS_EXPORT_COLUMNS_HOOK)
def best_quiz_scores(*, course: Any) -> list[ExportColumn]:
    """One column per live quiz of the course: each learner's best submitted score (percent). One
    query for the quizzes, then one per quiz; none where quizzes are switched off."""
    if not is_active("quizzes", course_id=course.pk):
        return []
    quizzes = QuizLessonPage.objects.live().child_of(course).order_by("path").values_list("pk", "title")
    return [ExportColumn(f"Quiz: {title}: best score (%)", _best_percent(pk)) for pk, title in quizzes]
