"""Learner-facing URLs: accounts (Django's auth views and names) and the dashboard."""

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
]
