"""Mount plugins' URL, API and WebSocket contributions (called by siteconfig's urls and asgi).

- ``<plugin>/urls.py`` (``urlpatterns``) under ``/p/<label>/``, namespace ``<label>``;
- ``<plugin>/api.py`` (``urlpatterns``, e.g. a DRF router's) under ``/api/v1/p/<label>/``;
- ``<plugin>/routing.py`` (``websocket_urlpatterns``) under ``/ws/p/<label>/``;
- ``<plugin>/root_urls.py`` (``urlpatterns``) at the site root, namespace ``<label>-root``: for the
  few public addresses a design fixes outside ``/p/`` (e.g. ``/certificates/<code>/``). They are
  mounted after every core route and before Wagtail's page serving, so a plugin never shadows a
  core URL; it can shadow a page with the same path (pick paths no page uses).

A plugin switched off site-wide answers 404 on its URLs (its API: the API's JSON 404, from the
view siteconfig passes as ``when_off``) and closes its sockets with 4404, except the views it
marks with :func:`serves_when_switched_off` (what it already gave people, e.g. an issued
certificate's verify page: switching a feature off stops it making new things). Nested includes
are gated view by view, and so are its admin URLs (``academy.plugins.admin_hooks``).
Per-course checks are the plugin's own (``activation.is_active(label, course_id=...)``), since
only it knows which course a URL is about.

A module among these that raises when imported refuses the plugin (``academy.E100``, with the
file and line): it is not mounted, and the rest of the site is served.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from academy.plugins import activation
from academy.plugins.registry import PluginConfig, contribution, plugins, refuse

SERVES_WHEN_OFF = "academy_serves_when_switched_off"
#: A view answering for a plugin that is switched off (None: raise Http404, the site's 404 page).
OffView = Callable[[HttpRequest], HttpResponse] | None


def serves_when_switched_off(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a plugin view that keeps answering while its plugin is off site-wide (it serves what
    the plugin already made; the view applies its own access rules)."""
    setattr(view, SERVES_WHEN_OFF, True)
    return view


def _gate_view(view: Callable[..., Any], label: str, when_off: OffView = None) -> Callable[..., Any]:
    if getattr(view, SERVES_WHEN_OFF, False):
        return view

    @functools.wraps(view)
    def gated(request: Any, *args: Any, **kwargs: Any) -> Any:
        if not activation.is_active(label):
            if when_off is not None:
                return when_off(request)
            raise Http404("This feature is switched off.")
        return view(request, *args, **kwargs)

    return gated


def gate_patterns(
    patterns: list[URLPattern | URLResolver], label: str, when_off: OffView = None
) -> list[URLPattern | URLResolver]:
    """``patterns`` with every view (in nested includes too) answering 404 (or ``when_off``)
    while plugin ``label`` is switched off site-wide."""
    gated: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if isinstance(entry, URLPattern):
            callback = _gate_view(entry.callback, label, when_off)
            gated.append(URLPattern(entry.pattern, callback, entry.default_args, entry.name))
        else:
            inner = gate_patterns(list(entry.url_patterns), label, when_off)
            gated.append(URLResolver(entry.pattern, inner, entry.default_kwargs, entry.app_name, entry.namespace))
    return gated


def _patterns(plugin: PluginConfig, module: str, attribute: str) -> list[Any] | None:
    """The plugin's ``<module>.<attribute>`` (None without the module, or when it fails: the
    plugin is refused)."""
    try:
        found = contribution(plugin, module)
        return list(getattr(found, attribute, [])) if found is not None else None
    except Exception as exc:  # anything a broken plugin raises must become a refusal
        refuse(plugin, exc, what=f"{module}.py could not be imported")
        return None


def plugin_urlpatterns() -> list[URLResolver]:
    """``/p/<label>/`` for every plugin with a ``urls.py`` (namespace: the label)."""
    mounted: list[URLResolver] = []
    for plugin in plugins():
        patterns = _patterns(plugin, "urls", "urlpatterns")
        if patterns is not None:
            mounted.append(path(f"p/{plugin.label}/", include((gate_patterns(patterns, plugin.label), plugin.label))))
    return mounted


def plugin_root_urlpatterns() -> list[URLResolver]:
    """The site-root patterns of every plugin with a ``root_urls.py`` (namespace ``<label>-root``)."""
    mounted: list[URLResolver] = []
    for plugin in plugins():
        patterns = _patterns(plugin, "root_urls", "urlpatterns")
        if patterns is not None:
            mounted.append(path("", include((gate_patterns(patterns, plugin.label), f"{plugin.label}-root"))))
    return mounted


def plugin_api_urlpatterns(when_off: OffView = None) -> list[URLResolver]:
    """``p/<label>/`` for every plugin with an ``api.py`` (mounted under ``/api/v1/``); while a
    plugin is off its views answer ``when_off`` (the API's JSON 404), Http404 without it."""
    mounted: list[URLResolver] = []
    for plugin in plugins():
        patterns = _patterns(plugin, "api", "urlpatterns")
        if patterns is not None:
            namespace = f"api-{plugin.label}"
            gated = gate_patterns(patterns, plugin.label, when_off)
            mounted.append(path(f"p/{plugin.label}/", include((gated, namespace))))
    return mounted


class _SiteGate:
    """ASGI wrapper: close a plugin's socket with 4404 while the plugin is off site-wide."""

    def __init__(self, app: Any, label: str) -> None:
        self.app, self.label = app, label

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if not await sync_to_async(activation.is_active)(self.label):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 4404})
            return
        await self.app(scope, receive, send)


def plugin_websocket_urlpatterns() -> list[URLResolver]:
    """``ws/p/<label>/`` for every plugin with a ``routing.py``."""
    from channels.routing import URLRouter

    mounted: list[URLResolver] = []
    for plugin in plugins():
        patterns = _patterns(plugin, "routing", "websocket_urlpatterns")
        if patterns is not None:
            gated = [
                URLPattern(entry.pattern, _SiteGate(entry.callback, plugin.label), entry.default_args, entry.name)
                if isinstance(entry, URLPattern)
                else entry
                for entry in patterns
            ]
            mounted.append(path(f"ws/p/{plugin.label}/", URLRouter(gated)))  # type: ignore[arg-type]
    return mounted
