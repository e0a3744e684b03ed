"""The quizzes plugin's metadata."""

from academy.sdk import PluginConfig


class QuizzesConfig(PluginConfig):
    """Graded quiz lessons: questions, attempts, a pass mark that gates completion."""

    name = "plugins.quizzes"
    label = "quizzes"
    verbose_name = "Quizzes"
    default_auto_field = "django.db.models.BigAutoField"
    plugin_name = "Quizzes"
    version = "1.0.0"
    author = "Academy"
    description = (
        "Quiz lessons: single and multiple choice, short answer and number questions, graded on "
        "the server, with a pass mark that completes the lesson, attempt and time limits."
    )
    min_core_version = "0.2"
    default_active = True
    per_course = True
