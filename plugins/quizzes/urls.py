"""The quiz page's form posts, mounted under ``/p/quizzes/`` (namespace ``quizzes``)."""

from django.urls import path

from plugins.quizzes import views

urlpatterns = [
    path("<int:quiz_id>/start/", views.start, name="start"),
    path("attempts/<int:attempt_id>/submit/", views.submit, name="submit"),
]
