"""Discussion pages and forms, mounted under ``/p/discussions/`` (namespace ``discussions``)."""

from django.urls import path

from plugins.discussions import views

urlpatterns = [
    path("lessons/<int:lesson_id>/threads/", views.lesson_list, name="list"),
    path("lessons/<int:lesson_id>/threads/new/", views.new_lesson_thread, name="new_lesson_thread"),
    path("courses/<int:course_id>/", views.course, name="course"),
    path("courses/<int:course_id>/threads/new/", views.new_course_thread, name="new_course_thread"),
    path("threads/<int:thread_id>/", views.thread, name="thread"),
    path("threads/<int:thread_id>/reply/", views.reply, name="reply"),
    path("threads/<int:thread_id>/answered/", views.answered, name="answered"),
    path("threads/<int:thread_id>/follow/", views.follow, name="follow"),
    path("threads/<int:thread_id>/moderate/", views.moderate, name="moderate"),
    path("posts/<int:post_id>/edit/", views.edit, name="edit"),
    path("posts/<int:post_id>/vote/", views.vote, name="vote"),
    path("posts/<int:post_id>/report/", views.report, name="report"),
]
