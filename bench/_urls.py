"""The site's URLs plus ``/bench/trivial/`` and ``/bench/chrome/`` (see ``bench._server_settings``)."""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

# base.html as the learner pages use it (no Wagtail user bar: it is for pages an editor edits).
_CHROME = engines["django"].from_string('{% extends "base.html" %}{% block userbar %}{% endblock %}')


def trivial(request: HttpRequest) -> HttpResponse:
    """The cheapest Django response: the floor of every page measurement."""
    return HttpResponse(b"ok", content_type="text/plain")


def chrome(request: HttpRequest) -> HttpResponse:
    """The site's frame (``base.html``) around no content: the floor of every logged-in page
    (session, user, header badge, live-update cursor, CSRF token)."""
    return HttpResponse(_CHROME.render(request=request))


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/chrome/", chrome),
    path("", include("siteconfig.urls")),
]
