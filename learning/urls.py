"""Learner-facing URLs: accounts (Django's auth views and names), the dashboard and the
enroll / complete-lesson / mark-read form posts."""

from django.urls import include, path

from learning import accounts, gradebook_views, views

urlpatterns = [
    path("accounts/signup/", accounts.signup, name="signup"),
    # Before Django's auth URLs: the reset form queues its email instead of sending it inline.
    path("accounts/password_reset/", accounts.password_reset, name="password_reset"),
    path("accounts/password_change/", accounts.password_change, name="password_change"),
    path("accounts/logout-everywhere/", accounts.logout_everywhere, name="logout_everywhere"),
    path("accounts/tokens/", accounts.access_tokens, name="access_tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", accounts.access_token_revoke, name="access_token_revoke"),
    path("accounts/apps/", accounts.oauth_apps, name="oauth_apps"),
    path("accounts/apps/<id:application_id>/revoke/", accounts.oauth_app_revoke, name="oauth_app_revoke"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Learning core (views.py): the dashboard and the form posts of course and lesson pages.
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/grades/", gradebook_views.my_grades, name="my_grades"),
    path("learning/enroll/", views.enroll, name="enroll"),
    path("learning/progress/", views.lesson_complete, name="lesson_complete"),
    path("learning/notifications/read/", views.notifications_mark_read, name="notifications_mark_read"),
    # Lesson due dates as a calendar (learning.calendar): the page, and the secret feed URL.
    path("dashboard/calendar/", views.calendar_page, name="calendar_page"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
