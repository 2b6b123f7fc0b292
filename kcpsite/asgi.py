"""ASGI entry point: HTTP requests pass the per-tenant limits on rate, requests in flight and open
watches (kube.endpoints.fairness); watch requests go to the Channels watch consumer, everything
else to Django (DRF views and the portal)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kcpsite.settings")

import django  # noqa: E402

django.setup(set_prefix=False)

from kcpsite.asgi_handler import ThreadedASGIHandler  # noqa: E402

django_app = ThreadedASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from kube.endpoints.fairness import TenantRateLimit  # noqa: E402
from kube.endpoints.watch import WatchConsumer, is_watch_request  # noqa: E402
from portal.consumers import PortalConsumer  # noqa: E402

watch_app = WatchConsumer.as_asgi()

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class WatchRouter:
    """Routes `?watch=true` GETs to the streaming consumer, the rest to Django."""

    def __init__(self, watch: ASGIApp, default: ASGIApp) -> None:
        self.watch = watch
        self.default = default

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        app = self.watch if is_watch_request(scope) else self.default
        await app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": TenantRateLimit(WatchRouter(watch_app, django_app),
                                rate=settings.KUBE_TENANT_QPS, burst=settings.KUBE_TENANT_BURST,
                                concurrency=settings.KUBE_TENANT_CONCURRENCY, queue=settings.KUBE_TENANT_QUEUE,
                                write_seats=settings.KUBE_TENANT_WRITE_SEATS, watches=settings.KUBE_TENANT_WATCHES,
                                is_long_running=is_watch_request),
        # The portal's live updates (one socket per tab; session login; same-origin only). A page
        # of a workspace opens its socket under the workspace's own path, so that the front proxy
        # routes it, like the page, to the shard holding that workspace; the consumer authorizes
        # every subscription by the workspace path in the message either way.
        "websocket": AuthMiddlewareStack(
            URLRouter(
                [
                    path("ws/portal", PortalConsumer.as_asgi()),
                    re_path(r"^workspaces/[^/]+/ws$", PortalConsumer.as_asgi()),
                ]
            )
        ),
    }
)
