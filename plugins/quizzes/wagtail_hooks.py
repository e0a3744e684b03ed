"""Wagtail hooks of the quizzes plugin: the Quiz results list in the admin menu."""

from wagtail_modeladmin.options import modeladmin_register

from plugins.quizzes.admin_views import QuizAttemptAdmin

modeladmin_register(QuizAttemptAdmin)
