"""``/test/fail/``: a view that raises ``settings.FAILING_VIEW_ERROR`` the way the ORM does
(a Django ``OperationalError`` caused by the driver's error)."""

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def fail(request: HttpRequest) -> HttpResponse:
    """Raise the configured error."""
    error = settings.FAILING_VIEW_ERROR
    if isinstance(error, OperationalError) or not isinstance(error, Exception):
        raise error
    if type(error).__module__.startswith("psycopg"):
        raise OperationalError(str(error)) from error
    raise error


urlpatterns = [path("test/fail/", fail), path("", include("siteconfig.urls"))]
