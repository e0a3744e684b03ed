"""``/api/v1/test/fail/``: an API view (the real base class) that fails the way a bug does, with
an exception no code expects, before the site's own URLs."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from learning.api.views import ApiView

FAILURE_MESSAGE = "lost the connection to the moon"


class FailingView(ApiView):
    """GET and POST raise RuntimeError."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        """Fail."""
        raise RuntimeError(FAILURE_MESSAGE)

    def post(self, request: Request) -> Response:
        """Fail after reading the body."""
        _body = request.data
        raise RuntimeError(FAILURE_MESSAGE)


urlpatterns = [path("api/v1/test/fail/", FailingView.as_view()), path("", include("siteconfig.urls"))]
