"""One ASGI app serving HTTP (Django) and websockets (Channels) on one port."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sora_social.settings")
django_asgi_app = get_asgi_application()  # set up Django before importing consumers

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from sora_social.common import warmup  # noqa: E402
from sora_social.notifications.routing import websocket_urlpatterns  # noqa: E402

# Load the models requests use before the server binds its port and says ready (/readyz), so
# no request loads one while holding a pooled database connection. SORA_WARMUP=0 skips it
# (in-process tests, which load what they use on first use).
warmup.run(*(("web",) if os.environ.get("SORA_WARMUP", "1") != "0" else ()))

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # No Origin check: sockets authenticate with a bearer token, never a cookie, so a
        # foreign page cannot ride on ambient credentials (and mobile clients send no Origin).
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
