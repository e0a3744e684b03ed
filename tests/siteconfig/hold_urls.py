"""``/test/hold/``: take a database connection, then wait until the file ``HOLD_FILE`` exists."""

import os
import time
from pathlib import Path

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

HOLD_PATIENCE_SECONDS = 60


def hold(request: HttpRequest) -> HttpResponse:
    """Occupy one request thread and one pooled connection until released."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    release = Path(os.environ["HOLD_FILE"])
    deadline = time.monotonic() + HOLD_PATIENCE_SECONDS
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return HttpResponse("released")


urlpatterns = [path("test/hold/", hold), path("", include("siteconfig.urls"))]
