"""ASGI entry point: HTTP through Django's WSGI handler on a thread pool, WebSocket through Channels.

One port serves both. HTTP requests pass the admission gate (``siteconfig.capacity``), then run
on Django's WSGI handler in a pool of ``ACADEMY_WEB_THREADS + ACADEMY_WEB_ANON_THREADS`` threads
(``siteconfig.wsgi_pool``; the last ones only for requests that cannot be logged in): one thread
hand-over per request instead of one per sync middleware under Django's ASGI handler (the
README has the figures). Django is set up before anything imports models (the routing modules
do), as the Channels tutorial requires.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "siteconfig.settings")
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from academy.logging import RequestIdASGIMiddleware  # noqa: E402
from academy.metrics import WebSocketMetricsMiddleware  # noqa: E402
from academy.plugins.urls import plugin_websocket_urlpatterns  # noqa: E402
from realtime.routing import not_found_route, websocket_urlpatterns  # noqa: E402
from realtime.tickets import SocketOriginValidator, TicketAuthMiddleware  # noqa: E402
from siteconfig import capacity  # noqa: E402
from siteconfig.wsgi_pool import PooledWSGI  # noqa: E402

# Core's streams, then each plugin's under /ws/p/<label>/, then 4404 for everything else.
websocket_routes = [*websocket_urlpatterns, *plugin_websocket_urlpatterns(), not_found_route]

# The pool has a thread for every request the gate may admit: the general threads and the
# anonymous lane's (a request admitted to the lane must not wait for a pool thread).
capacity.current_gate = capacity.AdmissionGate(
    PooledWSGI(  # type: ignore[arg-type]
        django_wsgi_app, threads=settings.ACADEMY_WEB_THREADS + settings.ACADEMY_WEB_ANON_THREADS
    ),
    threads=settings.ACADEMY_WEB_THREADS,
    anon_threads=settings.ACADEMY_WEB_ANON_THREADS,
    queue_limit=settings.ACADEMY_WEB_QUEUE_LIMIT,
    queue_timeout=settings.ACADEMY_WEB_QUEUE_TIMEOUT,
    retry_after=settings.ACADEMY_WEB_RETRY_AFTER,
)

application = ProtocolTypeRouter(
    {
        "http": capacity.current_gate,
        # Each connection gets a request id (its consumer's log lines) and is counted.
        # Cookie connections from the site's own origins; ticket connections (apps) also from
        # none or a configured one (realtime.tickets).
        "websocket": RequestIdASGIMiddleware(WebSocketMetricsMiddleware(SocketOriginValidator(
            AuthMiddlewareStack(TicketAuthMiddleware(URLRouter(websocket_routes)))
        ))),
    }
)

# Everything imported so far (Django, Wagtail, the URL and page registries) lives as long as the
# process: move it out of the garbage collector's generations, so full collections stay short
# and do not stall every open socket at once (long pauses show up as fan-out latency spikes).
gc.freeze()
