"""The anonymous page cache: whole responses of public pages, shared by every process.

Visitors without a session (no session or messages cookie) get home, catalog, course and lesson
pages from the ``default`` Django cache (django-redis with ``REDIS_URL``, the file cache
otherwise). A response is stored only when it is the same for every such visitor:

- the page opted in (``SharedCacheMixin.serve`` marks the request) and every query parameter is
  one the page declares (the catalog's ``page``, ``tag`` and ``q``);
- a 200 that sets no cookie, renders no CSRF token and shows no message, for an anonymous user;
- no ``Cache-Control: private / no-store / no-cache``: Wagtail adds those to every page under a
  view restriction (password, login, groups), so a private page is never stored, not even the
  password form an anonymous visitor gets.

Keys: the fingerprint of the installed plugin set (``academy.plugins.registry.fingerprint``:
another set after a restart is another key space), then each URL path has a *generation* token (a random string kept in the cache); an entry's key
holds the token of its path, the scheme, host, path and the raw query string (hashed, so the key
length is bounded; query strings longer than ``MAX_QUERY_LENGTH`` are not cached). A purge
deletes the path's token: every variant of that path (``?page=2``, ``?tag=sql``...) is unreachable
at once, and a request that read the old token before the purge stores its (possibly stale)
rendering under the old token, where no one looks. Tokens are random, never reused, so an evicted
token cannot bring old entries back.

Purges go through Wagtail's frontend-cache invalidation (``WAGTAILFRONTENDCACHE``):
:class:`DjangoCacheBackend` is a frontend-cache backend that purges this cache, run in-process at
once after commit; any other backend configured there (a CDN, Varnish) gets the same URLs through
Wagtail's own purge task. ``courses.receivers`` decides which pages a change touches.

One render per entry: when many visitors miss the same entry at once (a cold start, the first
requests after a publish), the first one renders it and holds a short *fill* marker in the cache;
the others wait up to ``ACADEMY_PAGE_CACHE_FILL_WAIT`` seconds for its entry instead of rendering
the same page side by side (which, on a full server, is what turned a cold catalog into 503s).
When the renderer stores nothing (the response was not shareable, or it failed) or takes
longer, they render their own response, and the marker then says so for ``PASS_SECONDS``: the
next visitors of a page that is never stored (a login form, a 404) render at once, without waiting.

Response header ``X-Cache``: ``hit`` (served from the cache) or ``miss`` (looked up, rendered);
absent when the request is not eligible (logged in, a session, POST, unknown parameters).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import cc_delim_re
from wagtail.contrib.frontend_cache.backends.base import BaseBackend

from academy.plugins.registry import fingerprint as plugin_fingerprint

logger = logging.getLogger(__name__)

CACHE_HEADER = "X-Cache"
# Query parameters any cached page may take (each page narrows it down); others bypass the cache.
CACHEABLE_QUERY_PARAMS = frozenset({"page", "tag", "q"})
# Longer query strings are served without the cache (a search box needs no more; bounds keys).
MAX_QUERY_LENGTH = 512
_KEY_PREFIX = "pagecache"
_REQUEST_FLAG = "_academy_shared_cache"
_NOT_SHARED_CACHE_CONTROL = {"private", "no-store", "no-cache"}
_ALLOWED_VARY = {"cookie"}


# How often a request waiting for another one's render looks for the entry, and how long the
# renderer's marker lives at most (it is deleted as soon as the render ends).
FILL_POLL_SECONDS = 0.01
FILL_MARKER_SECONDS = 10
# After a render that stored nothing, how long requests for that entry render without waiting.
PASS_SECONDS = 60
_RENDERING = "rendering"
_NOT_STORED = "not-stored"


def fill_wait_seconds() -> float:
    """How long a request waits for the render of the same entry by another request."""
    return float(getattr(settings, "ACADEMY_PAGE_CACHE_FILL_WAIT", 2.0))


def entry_seconds() -> int:
    """How long a stored page lives at most (purges remove it sooner)."""
    return int(getattr(settings, "ACADEMY_PAGE_CACHE_SECONDS", 600))


def enabled() -> bool:
    """Whether the anonymous page cache is on (``ACADEMY_PAGE_CACHE``)."""
    return bool(getattr(settings, "ACADEMY_PAGE_CACHE", True))


# --- Keys --------------------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _generation_key(path: str) -> str:
    return f"{_KEY_PREFIX}:gen:{_digest(path)}"


def _generation(path: str) -> str:
    """The path's current token, created on first use (``add``: concurrent requests agree).

    Tokens live as long as entries: any path a visitor asks for gets one (scanners too), and an
    expired token only means a miss, since a new token is never an old one.
    """
    key = _generation_key(path)
    token = cache.get(key)
    if token is None:
        candidate = uuid.uuid4().hex[:16]
        token = candidate if cache.add(key, candidate, entry_seconds()) else cache.get(key, candidate)
    return str(token)


def _entry_key(request: HttpRequest, host: str, token: str) -> str:
    # The plugin set's fingerprint: a restart with a plugin installed, upgraded, excluded or
    # refused never serves pages rendered with the old set (their fragments, their lessons).
    variant = f"{request.scheme}|{host}|{request.path}|{request.META.get('QUERY_STRING', '')}"
    return f"{_KEY_PREFIX}:page:{plugin_fingerprint()}:{token}:{_digest(variant)}"


# --- Which requests and responses --------------------------------------------------------------


def _query_names(request: HttpRequest) -> set[str] | None:
    """The query parameter names, or None when the query string is too long to cache."""
    raw = request.META.get("QUERY_STRING", "")
    if len(raw) > MAX_QUERY_LENGTH:
        return None
    return {name for name, _value in parse_qsl(raw, keep_blank_values=True)}


def _eligible_host(request: HttpRequest) -> str | None:
    """The request's host when it may use the shared cache, else None."""
    if request.method != "GET" or not enabled():
        return None
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
        return None  # maybe logged in, or a message waiting: always rendered for them
    if "HTTP_AUTHORIZATION" in request.META:
        return None
    names = _query_names(request)
    if names is None or not names <= CACHEABLE_QUERY_PARAMS:
        return None
    try:
        return request.get_host()
    except DisallowedHost:
        return None  # the normal path answers 400


def mark_shareable(request: HttpRequest, *, query_params: Iterable[str]) -> None:
    """Called by a page's ``serve()``: its response may be shared if the request only uses
    ``query_params`` (and the response passes the checks of :func:`_storable`)."""
    names = _query_names(request)
    if names is not None and names <= set(query_params) and not getattr(request, "is_preview", False):
        setattr(request, _REQUEST_FLAG, True)


def _header_tokens(response: HttpResponse, header: str) -> set[str]:
    value = response.headers.get(header, "")
    return {token.strip().lower().split("=")[0] for token in cc_delim_re.split(value) if token.strip()}


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether this response is the same for every visitor without a session."""
    if not getattr(request, _REQUEST_FLAG, False) or response.status_code != 200 or response.streaming:
        return False
    if response.cookies or response.has_header("Set-Cookie"):
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or request.META.get("CSRF_COOKIE_USED"):
        return False  # a CSRF token was rendered: it belongs to this visitor
    storage = getattr(request, "_messages", None)
    if storage is not None and (getattr(storage, "_queued_messages", None) or getattr(storage, "used", False)):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    if _header_tokens(response, "Cache-Control") & _NOT_SHARED_CACHE_CONTROL:
        return False  # Wagtail marks every page under a view restriction like this
    return _header_tokens(response, "Vary") <= _ALLOWED_VARY


def _freeze(response: HttpResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, list(response.headers.items()), response.content


def _thaw(entry: Any) -> HttpResponse | None:
    try:
        status, headers, content = entry
        response = HttpResponse(content, status=status)
        for name, value in headers:
            response.headers[name] = value
    except (TypeError, ValueError):
        return None
    return response


# --- Middleware --------------------------------------------------------------------------------


class AnonymousPageCacheMiddleware:
    """Serve and store the pages of visitors without a session (see the module docstring).

    Sits before the session middleware: a hit costs two cache reads and no database query.
    Works in sync and async stacks (cache calls run in a worker thread under ASGI).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Look up; else wait for a render of the same entry in flight; else render and maybe store."""
        if self.is_async:
            return self.__acall__(request)
        host = _eligible_host(request)
        if host is None:
            return self.get_response(request)
        key, cached = _lookup(request, host)
        if cached is not None:
            return cached
        claimed = _claim_fill(key)
        if key is not None and not claimed:
            deadline = time.monotonic() + fill_wait_seconds()
            waiting, cached = _poll_fill(key)
            while waiting and time.monotonic() < deadline:
                time.sleep(FILL_POLL_SECONDS)
                waiting, cached = _poll_fill(key)
            if cached is not None:
                return cached
        stored = False
        try:
            response = self.get_response(request)
            stored = _store(request, response, key)
        finally:
            if claimed:
                _release_fill(key, stored=stored)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        """The same, for an async stack (waiting costs no thread)."""
        host = _eligible_host(request)
        if host is None:
            return await self.get_response(request)
        in_thread = sync_to_async(thread_sensitive=False)
        key, cached = await in_thread(_lookup)(request, host)
        if cached is not None:
            return cached
        claimed = await in_thread(_claim_fill)(key)
        if key is not None and not claimed:
            deadline = time.monotonic() + fill_wait_seconds()
            waiting, cached = await in_thread(_poll_fill)(key)
            while waiting and time.monotonic() < deadline:
                await asyncio.sleep(FILL_POLL_SECONDS)
                waiting, cached = await in_thread(_poll_fill)(key)
            if cached is not None:
                return cached
        stored = False
        try:
            response = await self.get_response(request)
            stored = await in_thread(_store)(request, response, key)
        finally:
            if claimed:
                await in_thread(_release_fill)(key, stored=stored)
        return response


def _lookup(request: HttpRequest, host: str) -> tuple[str | None, HttpResponse | None]:
    try:
        key = _entry_key(request, host, _generation(request.path))
        cached = _thaw(cache.get(key)) if key else None
    except Exception:
        logger.warning("page cache lookup failed; rendering instead", exc_info=True)
        return None, None
    if cached is not None:
        cached.headers[CACHE_HEADER] = "hit"
    return key, cached


def _fill_key(key: str) -> str:
    return f"{key}:filling"


def _claim_fill(key: str | None) -> bool:
    """Whether this request renders the entry: no other request is rendering it now.

    False when the cache cannot tell: the first poll fails as well and the request renders."""
    if key is None:
        return False
    try:
        return bool(cache.add(_fill_key(key), _RENDERING, FILL_MARKER_SECONDS))
    except Exception:
        logger.warning("page cache fill marker failed; rendering", exc_info=True)
        return False


def _poll_fill(key: str) -> tuple[bool, HttpResponse | None]:
    """(still worth waiting, the stored response if it is there now).

    Waiting stops when the entry is there, or when no render is in flight any more (the marker
    is gone, or says the last render stored nothing): then the waiter renders its own."""
    marker = _fill_key(key)
    try:
        found = cache.get_many([key, marker])
    except Exception:
        return False, None
    cached = _thaw(found[key]) if key in found else None
    if cached is not None:
        cached.headers[CACHE_HEADER] = "hit"
        return False, cached
    return found.get(marker) == _RENDERING, None


def _release_fill(key: str, *, stored: bool) -> None:
    """End this request's render: drop the marker, or mark the entry as not stored for a while."""
    try:
        if stored:
            cache.delete(_fill_key(key))
        else:
            cache.set(_fill_key(key), _NOT_STORED, PASS_SECONDS)
    except Exception:
        logger.warning("page cache fill marker not released (it expires)", exc_info=True)


def _store(request: HttpRequest, response: HttpResponse, key: str | None) -> bool:
    """Store the response under ``key`` when it is shareable; whether it was stored."""
    if key is None:
        return False
    stored = False
    if _storable(request, response):
        try:
            cache.set(key, _freeze(response), entry_seconds())
            stored = True
        except Exception:
            logger.warning("page cache store failed", exc_info=True)
    response.headers[CACHE_HEADER] = "miss"
    return stored


# --- Purging -----------------------------------------------------------------------------------


def purge_paths(paths: Iterable[str]) -> None:
    """Forget every stored variant of these URL paths, now."""
    keys = sorted({_generation_key(path) for path in paths})
    if keys:
        cache.delete_many(keys)


class DjangoCacheBackend(BaseBackend):
    """A Wagtail frontend-cache backend that purges this page cache (by URL path, every query
    variant, every host: over-purging another site's same path is harmless)."""

    # Run in the process that made the change, at once (see purge_urls): no queue in between.
    in_process = True

    def purge(self, url: str) -> None:
        """Purge one URL."""
        self.purge_batch([url])

    def purge_batch(self, urls: Iterable[str]) -> None:
        """Purge many URLs in one cache call."""
        purge_paths(urlsplit(url).path or "/" for url in urls)


def purge_urls(urls: Iterable[str]) -> None:
    """Purge ``urls`` from every configured frontend cache, once the transaction commits.

    In-process backends (this page cache) run through Wagtail's purge task function, in this
    process: at once, and again after commit (a request that rendered the old content between
    the two stored it under the token the second purge drops). The others (CDN, Varnish) get the
    same URLs after commit through Wagtail's task queue, as Wagtail does.
    """
    batch = sorted(set(urls))
    if batch:
        _purge_local(batch)
        transaction.on_commit(lambda: _purge_after_commit(batch), robust=True)


def _backend_names() -> tuple[list[str], list[str]]:
    from wagtail.contrib.frontend_cache.utils import get_backends

    backends = get_backends()
    local = [name for name, backend in backends.items() if getattr(backend, "in_process", False)]
    return local, [name for name in backends if name not in local]


def _purge_local(urls: list[str]) -> None:
    from wagtail.contrib.frontend_cache.tasks import purge_urls_from_cache_task

    local, _remote = _backend_names()
    if local:
        try:
            purge_urls_from_cache_task.call(urls, None, local)
        except Exception:
            logger.exception("page cache purge of %d URLs failed", len(urls))


def _purge_after_commit(urls: list[str]) -> None:
    from wagtail.contrib.frontend_cache.utils import purge_urls_from_cache

    _purge_local(urls)
    _local, remote = _backend_names()
    if remote:
        purge_urls_from_cache(urls, backends=remote)


def purge_body_fragments(pages: Iterable[Any]) -> None:
    """Forget the cached lesson bodies of ``pages`` (their live revisions), after commit."""
    from django.core.cache.utils import make_template_fragment_key

    keys = [
        make_template_fragment_key(LESSON_BODY_FRAGMENT, [page.pk, page.live_revision_id])
        for page in pages
        if page.live_revision_id
    ]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


# The {% cache %} fragment name of a lesson body (templates/courses/lesson_page.html).
LESSON_BODY_FRAGMENT = "lesson_body"
