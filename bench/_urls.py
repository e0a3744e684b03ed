"""The site's URLs plus ``/bench/trivial/`` (see ``bench._server_settings``)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> HttpResponse:
    """The cheapest Django response: the floor of every page measurement."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), path("", include("siteconfig.urls"))]
