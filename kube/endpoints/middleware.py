"""Django middleware of the HTTP API and the portal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from kube import errors
from kube.decoding import reject_nul_in_parameters, reject_nul_in_request

from .errors import status_response
from .views import KubeAPIView


class RefuseNulMiddleware:
    """First in the chain: a request whose path, query or headers hold a NUL character is a 400
    Status before anything (a session lookup, routing, a view's query) passes it to PostgreSQL,
    which refuses NUL in text; so is a form POST to a non-API view (a portal login) with one in
    a field. The watch consumer, outside Django, makes the same check of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            reject_nul_in_request(
                path=request.path_info,
                query_string=request.META.get("QUERY_STRING", ""),
                headers=(
                    (k[5:].replace("_", "-").title(), v)
                    for k, v in request.META.items()
                    if k.startswith("HTTP_") and isinstance(v, str)
                ),
            )
        except errors.StatusError as e:
            return status_response(e)
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        """Form fields of the views that read them (the portal's, the admin's): the API's views
        decode their bodies themselves (kube.decoding) and answer 415 to forms, so their bodies
        are left unread here."""
        if request.method != "POST" or _is_api_view(view_func):
            return None
        if not (request.content_type or "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            return None
        try:
            reject_nul_in_parameters((k, v) for k, values in request.POST.lists() for v in values)
        except errors.StatusError as e:
            return status_response(e)
        return None


def _is_api_view(view_func: Callable[..., Any]) -> bool:
    view_class = getattr(view_func, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, KubeAPIView)
