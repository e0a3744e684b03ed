"""Wagtail hooks of the quizzes plugin: the Quiz results list in the admin menu, and the accessible
names of the quiz editor's fields (``static/quizzes/editor-labels.js``)."""

from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks
from wagtail_modeladmin.options import modeladmin_register

from plugins.quizzes.admin_views import QuizAttemptAdmin

modeladmin_register(QuizAttemptAdmin)


@hooks.register("insert_editor_js")
def quiz_editor_labels() -> str:
    """Names for the rich-text prompts and the accepted-answer inputs of a quiz's questions (the
    block definitions stay as migrated: the names are set in the browser, from the labels)."""
    return format_html('<script src="{}" defer></script>', static("quizzes/editor-labels.js"))
