"""The public verify page at the address the design fixes: ``/certificates/<code>/``."""

from django.urls import path

from plugins.certificates import views

urlpatterns = [
    path("certificates/<str:code>/", views.verify, name="verify"),
]
