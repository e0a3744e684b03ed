"""The quiz page's form posts, mounted under ``/p/quizzes/`` (namespace ``quizzes``).

Ids are at most 18 digits, so every id reaching a query fits the database's bigint (a longer
one is a 404 here, not an overflow error).
"""

from django.urls import re_path

from plugins.quizzes import views

urlpatterns = [
    re_path(r"^(?P<quiz_id>[0-9]{1,18})/start/$", views.start, name="start"),
    re_path(r"^attempts/(?P<attempt_id>[0-9]{1,18})/submit/$", views.submit, name="submit"),
]
