"""Learner-facing URLs: accounts (Django's auth views and names) and the dashboard."""

from django.urls import include, path

from learning import accounts

urlpatterns = [
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
]
