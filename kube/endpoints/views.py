"""DRF views of the Kubernetes API, thin: parse → resolve (kube.endpoints.pipeline) → dispatch
(kube.endpoints.handlers) → render. Watches are not served here but by `kube.endpoints.watch`
(routed by the ASGI router), through the same pipeline."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.views import APIView

from kube import errors

from . import health as health_checks
from .errors import status_response
from .fanout import merged_list
from .handlers import Reply, RequestBody, handler_for
from .handlers.nonresource import serve as serve_nonresource
from .negotiation import TABLE_CONTENT_TYPE
from .pipeline import NOT_FOUND, Target, fan_out_for, resolve_request
from .versioninfo import VERSION_INFO

__all__ = ["KubeAPIView", "VirtualAPIView", "health", "version", "not_found_view", "VERSION_INFO"]


def json_response(
    data: Any, status: int = 200, content_type: str = "application/json", warnings: tuple[str, ...] | list[str] = ()
) -> HttpResponse:
    resp = HttpResponse(orjson.dumps(data), status=status, content_type=content_type)
    if warnings:
        resp.headers["Warning"] = ", ".join(f'299 - "{_warning_text(w)}"' for w in warnings)
    return resp


def _warning_text(text: str) -> str:
    return _header_safe(text).replace('"', '\\"')


def render(reply: Reply) -> HttpResponse:
    if reply.raw is not None:
        resp = HttpResponse(reply.raw, status=reply.status, content_type=reply.content_type)
    else:
        resp = json_response(reply.data, reply.status, reply.content_type, reply.warnings)
    for k, v in reply.headers.items():
        resp[k] = v
    return resp


def _header_safe(text: str) -> str:
    """Warning text as printable ASCII: anything else (newlines from a client's field names,
    non-Latin text) is escaped so the header can be sent at all."""
    return "".join(c if " " <= c <= "~" and c != "\\" else c.encode("unicode_escape").decode() for c in text)


def headers_of(meta: dict[str, Any]) -> dict[str, str]:
    """The request's HTTP headers by lower-case name, as the watch consumer sees them (Django
    joins a repeated header with commas; so does the consumer)."""
    return {k[5:].lower().replace("_", "-"): v for k, v in meta.items() if k.startswith("HTTP_")}


def health(request: HttpRequest, cluster: str = "") -> HttpResponse:
    """/healthz, /livez, /readyz (and /<endpoint>/<check>, `?verbose`, `?exclude=`): anonymous,
    kube-apiserver's plain-text answers; /readyz and /healthz include the database (kube.endpoints.health)."""
    answer = health_checks.health_answer(path=request.path, verbose="verbose" in request.GET,
                                  exclude=request.GET.getlist("exclude"))
    response = HttpResponse(answer.text.encode(), status=answer.status, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def version(request: HttpRequest, cluster: str = "") -> HttpResponse:
    return json_response(VERSION_INFO)


def not_found_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return status_response(errors.NotFound(NOT_FOUND))


class KubeAPIView(APIView):
    """Every /api, /apis and /openapi request of a logical cluster. Authentication is the
    pipeline's (the same for watches), not DRF's; DRF contributes the exception handler that
    makes every error a Status (kube.endpoints.errors)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get(self, request: Request, path: str = "", cluster: str = "root") -> HttpResponse:
        return self.serve(request, Target(cluster_path=cluster, path="/" + path))

    post = put = patch = delete = head = get

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Not DRF's metadata answer: through the pipeline, 401 unauthenticated, else 405."""
        return self.get(request, *args, **kwargs)

    def http_method_not_allowed(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Any other method goes through the pipeline too: 401 before 405, as for watches."""
        return self.get(request, *args, **kwargs)

    def serve(self, request: Request, target: Target) -> HttpResponse:
        meta = request.META
        method = request.method or "GET"
        req = resolve_request(
            method=method, target=target, query_string=meta.get("QUERY_STRING", ""), headers=headers_of(meta)
        )
        if req.resource is None:
            return render(serve_nonresource(req, method=method, host=request.get_host()))
        if req.verb == "list" and (fan := fan_out_for(target, req)) is not None:
            merged = merged_list(fan, path=req.path, query_string=meta.get("QUERY_STRING", ""), headers=req.headers,
                                 list_kind=(f"{req.info.kind}List", req.info.group_version))
            return json_response(merged, content_type=TABLE_CONTENT_TYPE if merged.get("kind") == "Table" else
                                 "application/json")
        body = RequestBody(
            content_type=meta.get("CONTENT_TYPE", ""),
            content_length=meta.get("CONTENT_LENGTH", ""),
            read=request._request.read,
        )
        return render(handler_for(req)(req, body))


class VirtualAPIView(KubeAPIView):
    """`/services/<virtual workspace>/<args…>/clusters/<cluster>/<api path>`: the same API over
    the virtual workspace's Surface; with `whole=False`, this backend's own part of it
    (`/shards/<this shard>/services/…`: never fanned out)."""

    whole = True

    def get(self, request: Request, path: str = "", cluster: str = "") -> HttpResponse:  # type: ignore[override]
        return self.serve(request, Target(virtual=path, whole=self.whole))

    post = put = patch = delete = head = get  # type: ignore[assignment]
