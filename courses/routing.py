"""Page routes and course outlines from the cache, valid for one *tree generation*.

Serving any Wagtail page starts with work that depends only on the page tree, never on the
visitor: the Site for the host (a query), the site's home page (a query) and the route below it
(``HomePage.route``: one joined query), and a lesson then lists its course's lessons (a query) for
"lesson N of M" and its neighbours. The profile of a logged-in lesson page showed these four
queries, and building them, as half its time. They are kept in this process's memory in front
of the shared cache (``academy.generations``):

- :func:`prime_route` puts the ``(site, route result)`` of a request's host and path on the
  request before Wagtail's serve view asks for them (``Site.find_for_request`` and
  ``Page.route_for_request`` read ``request._wagtail_site`` / ``_wagtail_route_for_request``);
  a path that routes nowhere (a 404) is remembered too.
- ``courses.selectors.course_outline`` is a course's live lessons of the active kinds, in order,
  without their bodies (kept with :func:`tree_cached`);
- :func:`live_paths` says which pages of a set are live (the access rules ask it for a page and
  its ancestors at every door).

All are stored under the tree generation, an integer in the shared cache that :func:`forget_tree`
moves on whenever a page is saved, deleted or moved, or a Site changes (``courses.receivers``);
the outline's key also holds the course's inactive lesson kinds (the plugin activation table).
``forget_tree`` runs now and again after commit: a request that read the tree between the two
stored what it saw under a generation no one reads any more.

A page type's ``route()`` must depend only on the path (Wagtail's own and RoutablePageMixin's
do); the request it receives is not part of the key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest
from django.utils import translation

from academy.generations import Generation

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Routes, outlines, liveness and page fragments: valid while the page tree stays as it is.
TREE = Generation("tree")
# Longer paths are routed without the cache (a scanner's junk; bounds the key space).
MAX_PATH_LENGTH = 1024


def tree_generation() -> int:
    """The current tree generation (read once per request with the other generations)."""
    return TREE.current()


def forget_tree() -> None:
    """The page tree changed: every cached route, outline and fragment is stale, now and after
    commit."""
    TREE.bump()


def prime_route(request: HttpRequest, path: str) -> None:
    """Give ``request`` its Site and route from the cache, or route it now and store both.

    Afterwards Wagtail's ``Site.find_for_request`` and ``Page.route_for_request`` answer from
    the request without a query. A cache failure only means routing as Wagtail does.
    """
    if len(path) > MAX_PATH_LENGTH or hasattr(request, "_wagtail_route_for_request"):
        return
    from wagtail.models import Page, Site

    host = request._get_raw_host()
    variant = f"{host}|{request.get_port()}|{translation.get_language()}|{path}"

    def route() -> tuple[Any, Any]:
        return Site.find_for_request(request), Page.route_for_request(request, path)

    # A path that routes nowhere is kept in this process only: scanners' made-up paths must not
    # fill the shared cache.
    site, result = TREE.cached("route", variant, route, tuple, share=lambda found: found[1] is not None)
    request._wagtail_site, request._wagtail_route_for_request = site, result  # type: ignore[attr-defined]


def serve(request: HttpRequest, path: str) -> Any:
    """Wagtail's page serving view, with the request's route from the cache (:func:`prime_route`)."""
    from wagtail.views import serve as wagtail_serve

    prime_route(request, path)
    return wagtail_serve(request, path)


def wagtail_urlpatterns() -> list[Any]:
    """Wagtail's front-end URL patterns, its page serving view replaced by :func:`serve`."""
    from django.urls import re_path
    from wagtail import urls as wagtail_urls

    patterns = [pattern for pattern in wagtail_urls.urlpatterns if getattr(pattern, "name", None) != "wagtail_serve"]
    return [*patterns, re_path(wagtail_urls.serve_pattern, serve, name="wagtail_serve")]


def tree_cached(name: str, variant: str, compute: Callable[[], T], kind: type) -> T:
    """``compute()``'s value under ``name`` and ``variant`` for the current tree generation
    (``academy.generations``): for what depends only on the page tree and what ``variant`` names."""
    return TREE.cached(name, variant, compute, kind)


def live_paths(paths: list[str]) -> dict[str, bool]:
    """``{tree path: live}`` for the pages at ``paths`` (a path with no page is left out), from
    the cache while the tree stays as it is; one query otherwise. ``paths`` sorted, as the key."""
    from wagtail.models import Page

    def load() -> dict[str, bool]:
        rows = Page.objects.filter(path__in=paths).values_list("path", "live")
        return {path: bool(is_live) for path, is_live in rows}

    return tree_cached("live", ",".join(paths), load, dict)
