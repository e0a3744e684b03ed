"""ASGI entry point: HTTP through Django, WebSocket through Channels.

Django is set up before anything imports models (the routing modules do), as the Channels
tutorial requires.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "siteconfig.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# Everything imported so far (Django, Wagtail, the URL and page registries) lives as long as the
# process: move it out of the garbage collector's generations, so full collections stay short
# and do not stall every open socket at once (long pauses show up as fan-out latency spikes).
gc.freeze()
