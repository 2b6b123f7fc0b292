"""Portal middleware only on portal routes.

Sessions, CSRF, login (`request.user`) and messages are what the portal and the admin need; the
Kubernetes API needs none of them: its clients authenticate with bearer tokens on every request
and never hold a session. Run on an API request, they cost a session lookup when a browser's
cookie rides along, add `Vary: Cookie` to every response, and put a CSRF check in front of views
that are exempt anyway.

`PortalMiddleware` is one entry in `settings.MIDDLEWARE` that owns `settings.PORTAL_MIDDLEWARE`
as an inner chain, built exactly as Django builds its own (each middleware wraps the next, every
layer converting exceptions to responses). A request outside the API's URL space goes through the
inner chain, and the inner middleware's `process_view` / `process_template_response` /
`process_exception` hooks are called in Django's order (CSRF's check lives in `process_view`); an
API request skips the inner chain and all of its hooks.

Why a prefix router and not view decorators (`decorator_from_middleware`): the admin's URLs are a
tree of views Django builds itself, and every portal view would carry four decorators that a new
view could forget. Why the API's prefixes are listed and not the portal's: a path that is not
recognised as the API gets the full portal chain, so a new portal route can never lose its CSRF
check by being left off a list; a new API route left off would merely run the session machinery.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

GetResponse = Callable[[HttpRequest], HttpResponse]

#: The Kubernetes API's URL space (kcpsite.urls): a logical cluster's or a virtual workspace's
#: whole tree, and the cluster-less API, discovery, OpenAPI, version and health endpoints.
API_PATH = re.compile(r"^/(?:clusters|services|shards)/|^/(?:api|apis|openapi|version|healthz|livez|readyz)(?:/|$)")


def is_api_path(path: str) -> bool:
    return API_PATH.match(path) is not None


#: What a database that does not answer (down, out of connections, the pool's timeout) raises.
DATABASE_OUTAGE = (OperationalError, InterfaceError)


def unavailable(request: HttpRequest) -> HttpResponse:
    """A portal page's answer while a database it needs does not answer: 503 with Retry-After and
    a human sentence, never a 500 (the API answers the same outage with a 503 Status)."""
    response = HttpResponse(
        "<!doctype html><title>Unavailable</title><h1>Temporarily unavailable</h1>"
        "<p>The service cannot reach its database right now. Try again in a moment.</p>",
        status=503,
        content_type="text/html; charset=utf-8",
    )
    response["Retry-After"] = "5"
    return response


def _outage_as_503(layer: GetResponse) -> GetResponse:
    """`layer` with a database outage raised in it (a session saved on the way out, the user
    loaded on the way in) answered as `unavailable`, before Django turns it into a 500."""

    def guarded(request: HttpRequest) -> HttpResponse:
        try:
            return layer(request)
        except DATABASE_OUTAGE:
            return unavailable(request)

    return guarded


class PortalMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        chain: Any = get_response
        inner: list[Any] = []
        for dotted in reversed(settings.PORTAL_MIDDLEWARE):
            middleware = import_string(dotted)(chain)
            inner.insert(0, middleware)
            chain = convert_exception_to_response(_outage_as_503(middleware))
        self.portal_chain: GetResponse = chain
        # Django's order: process_view top to bottom, the other two bottom to top.
        self.view_hooks = [m.process_view for m in inner if hasattr(m, "process_view")]
        self.template_hooks = [m.process_template_response for m in reversed(inner)
                               if hasattr(m, "process_template_response")]
        self.exception_hooks = [m.process_exception for m in reversed(inner) if hasattr(m, "process_exception")]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path_info):
            return self.get_response(request)
        return self.portal_chain(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if is_api_path(request.path_info):
            return None
        for hook in self.view_hooks:
            response = hook(request, view_func, view_args, view_kwargs)
            if response is not None:
                return response
        return None

    def process_template_response(self, request: HttpRequest, response: Any) -> Any:
        if is_api_path(request.path_info):
            return response
        for hook in self.template_hooks:
            response = hook(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_api_path(request.path_info):
            return None
        for hook in self.exception_hooks:
            response = hook(request, exception)
            if response is not None:
                return response
        if isinstance(exception, DATABASE_OUTAGE):  # raised by a portal view
            return unavailable(request)
        return None
