"""Django middleware of the HTTP API and the portal."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from kube import errors
from kube.decoding import reject_nul_in_request

from .errors import status_response


class RefuseNulMiddleware:
    """First in the chain: a request whose path, query or headers hold a NUL character is a 400
    Status before anything (a session lookup, routing, a view's query) passes it to PostgreSQL,
    which refuses NUL in text. The watch consumer, outside Django, makes the same check."""

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
