"""DRF views of the Kubernetes API. Thin: parse → authenticate/authorize → call the Store →
render. Watches are not served here but by `kube.endpoints.watch` (routed by the ASGI router).
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import parse_qs

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from kube import errors
from kube.authz.authentication import BearerTokenAuthentication
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.decoding import json_decode, yaml_decode
from kube.registry import ResourceInfo, scale
from kube.registry.context import RequestContext
from kube.registry.store import PATCH_APPLY, PATCH_TYPES, STORE

from . import discovery, openapi, options, table
from . import health as health_checks
from .errors import status_response
from .negotiation import (
    AGGREGATED_DISCOVERY_CONTENT_TYPE,
    TABLE_CONTENT_TYPE,
    decode_body,
    media_type,
    wants_aggregated_discovery,
    wants_table,
)
from .paths import RequestInfo, parse_resource_path
from .surface import DEFAULT, Surface, split_virtual_path

VERSION_INFO = {
    "major": "1",
    "minor": "35",
    "emulationMajor": "1",
    "emulationMinor": "35",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "34",
    "gitVersion": "v1.35.0+kcp-django",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-11-23T00:00:00Z",
    "goVersion": "python3",
    "compiler": "cpython",
    "platform": "linux/amd64",
}


def json_response(
    data: Any, status: int = 200, content_type: str = "application/json", warnings: list[str] | None = None
) -> HttpResponse:
    resp = HttpResponse(orjson.dumps(data), status=status, content_type=content_type)
    for w in warnings or []:
        escaped = _header_safe(w).replace('"', '\\"')
        resp.headers.setdefault("Warning", "")
        resp.headers["Warning"] = ", ".join(x for x in (resp.headers["Warning"], f'299 - "{escaped}"') if x)
    return resp


def _impersonation_headers(meta: dict[str, Any]) -> dict[str, str]:
    return {
        "impersonate-user": str(meta.get("HTTP_IMPERSONATE_USER", "")),
        "impersonate-group": str(meta.get("HTTP_IMPERSONATE_GROUP", "")),
    }


def _header_safe(text: str) -> str:
    """Warning text as printable ASCII: anything else (newlines from a client's field names,
    non-Latin text) is escaped so the header can be sent at all."""
    return "".join(c if " " <= c <= "~" and c != "\\" else c.encode("unicode_escape").decode() for c in text)


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
    return status_response(errors.NotFound("the server could not find the requested resource"))


class IsAuthenticated(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if request.user is None:
            from rest_framework.exceptions import NotAuthenticated

            raise NotAuthenticated()
        return True


class KubeAPIView(APIView):
    """Every /api, /apis and /openapi request of a logical cluster."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, path: str = "", cluster: str = "root") -> HttpResponse:
        return self.serve(request, path, cluster)

    post = put = patch = delete = get

    def head(self, request: Request, path: str = "", cluster: str = "root") -> HttpResponse:
        return self.serve(request, path, cluster)

    # --- dispatch -----------------------------------------------------------------------------
    def serve(self, request: Request, path: str, cluster_path: str, surface: Surface = DEFAULT) -> HttpResponse:
        self.surface = surface
        cluster = surface.resolve_cluster(cluster_path)
        user = surface.user(cast(UserInfo, request.user), cluster, _impersonation_headers(request.META))
        request.user = user  # type: ignore[assignment]  # DRF holds any user object
        query = {k: v[-1] for k, v in parse_qs(request.META.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        path = "/" + path
        info = parse_resource_path(path, request.method or "GET", watch=False)
        surface.admit(user, cluster, info.verb or "get")
        if not info.is_resource:
            surface.authorize(
                user,
                cluster,
                Attributes(
                    user=user,
                    verb="get",
                    api_group="",
                    resource="",
                    subresource="",
                    name="",
                    namespace="",
                    path=path,
                    resource_request=False,
                ),
            )
            if path.startswith("/openapi/"):
                return self.serve_openapi(cluster, path, query)
            return self.serve_discovery(request, cluster, path)
        return self.serve_resource(request, cluster, info, query)

    def serve_discovery(self, request: Request, cluster: str, path: str) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
        resources = self.surface.resources(cluster)
        accept = request.META.get("HTTP_ACCEPT", "")
        parts = [p for p in path.strip("/").split("/") if p]
        if parts == ["api"]:
            if wants_aggregated_discovery(accept):
                return json_response(
                    discovery.aggregated(resources, core=True), content_type=AGGREGATED_DISCOVERY_CONTENT_TYPE
                )
            return json_response(discovery.api_versions(request.get_host()))
        if parts == ["apis"]:
            if wants_aggregated_discovery(accept):
                return json_response(
                    discovery.aggregated(resources, core=False), content_type=AGGREGATED_DISCOVERY_CONTENT_TYPE
                )
            return json_response(discovery.api_group_list(resources))
        doc: dict[str, Any] | None = None
        if len(parts) == 2 and parts[0] == "api":
            doc = discovery.api_resource_list(resources, "", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            doc = discovery.api_group(resources, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = discovery.api_resource_list(resources, parts[1], parts[2])
        if doc is None:
            raise errors.NotFound("the server could not find the requested resource")
        return json_response(doc)

    def serve_openapi(self, cluster: str, path: str, query: dict[str, str]) -> HttpResponse:
        parts = [p for p in path.strip("/").split("/") if p]
        if parts == ["openapi", "v2"]:
            return self.serve_openapi_v2()
        if parts[:2] != ["openapi", "v3"]:
            raise errors.NotFound("the server could not find the requested resource")
        resources = self.surface.resources(cluster)
        groups: dict[tuple[str, str], list[ResourceInfo]] = {}
        for r in resources:
            groups.setdefault((r.group, r.version), []).append(r)
        if len(parts) == 2:
            hashes = {openapi.gv_path(g, v): _gv_document(g, v, tuple(rs))[1] for (g, v), rs in groups.items()}
            return json_response(openapi.openapi_index(hashes))
        rest = parts[2:]
        if rest[0] == "api" and len(rest) == 2:
            key = ("", rest[1])
        elif rest[0] == "apis" and len(rest) == 3:
            key = (rest[1], rest[2])
        else:
            raise errors.NotFound("the server could not find the requested resource")
        if key not in groups:
            raise errors.NotFound("the server could not find the requested resource")
        body, _ = _gv_document(key[0], key[1], tuple(groups[key]))
        resp = HttpResponse(body, content_type="application/json")
        if query.get("hash"):
            resp["Cache-Control"] = "public, immutable"
        return resp

    def serve_openapi_v2(self) -> HttpResponse:
        title, version = "kcp-django", VERSION_INFO["gitVersion"]
        if openapi.OPENAPI_V2_PROTOBUF in self.request.META.get("HTTP_ACCEPT", ""):
            return HttpResponse(
                openapi.openapi_v2_protobuf(title, version), content_type=openapi.OPENAPI_V2_PROTOBUF_RESPONSE
            )
        return json_response(openapi.openapi_v2(title, version))

    # --- resources ----------------------------------------------------------------------------
    def serve_resource(self, request: Request, cluster: str, ri: RequestInfo, query: dict[str, str]) -> HttpResponse:
        info = self.surface.resolve(cluster=cluster, group=ri.group, version=ri.version, resource=ri.resource)
        if info is None:
            raise errors.NotFound("the server could not find the requested resource")
        if ri.subresource and ri.subresource not in info.subresources and ri.subresource not in info.extra_subresources:
            raise errors.NotFound("the server could not find the requested resource")
        if not info.namespaced and ri.namespace:
            raise errors.NotFound("the server could not find the requested resource")
        if info.namespaced and not ri.namespace and ri.verb not in ("list", "deletecollection"):
            raise errors.NotFound("the server could not find the requested resource")
        if cluster == "*" and ri.verb not in ("list",):
            raise errors.MethodNotAllowed("only list and watch are served across logical clusters")
        if ri.verb not in info.verbs and ri.subresource not in info.extra_subresources:
            raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
        user = cast(UserInfo, request.user)
        self.surface.authorize(
            user,
            cluster,
            Attributes(
                user=user,
                verb=ri.verb,
                api_group=info.group,
                resource=info.resource,
                subresource=ri.subresource,
                name=ri.name,
                namespace=ri.namespace,
                path=ri.path,
                resource_request=True,
            ),
            info,
        )
        ctx = RequestContext(cluster=cluster, user=user)
        ctx.write_guard = self.surface.write_guard(info, cluster, ri.verb)
        accept = request.META.get("HTTP_ACCEPT", "")
        verb = ri.verb
        confine = self.surface.required_label(info)
        if confine:
            query = self.confine(info, ctx, ri, query, confine)
        if ri.subresource == "scale":
            return self.serve_scale(request, info, ctx, ri, query)
        if verb in ("get", "list") and ri.subresource not in ("", "status"):
            raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
        if verb == "get":
            obj = STORE.get(info, ctx, ri.namespace, ri.name)
            if wants_table(accept):
                return json_response(
                    table.table(
                        info,
                        [obj],
                        include_object=query.get("includeObject", "Metadata"),
                        resource_version=obj["metadata"].get("resourceVersion", ""),
                    ),
                    content_type=TABLE_CONTENT_TYPE,
                )
            return json_response(obj)
        if verb == "list":
            return self.list_objects(info, ctx, ri, query, accept)
        body = self.read_body(request, required=verb in ("create", "update", "patch"))
        ctx.dry_run = options.dry_run(request.query_params.getlist("dryRun"))
        if verb in ("create", "update", "patch"):
            ctx.field_validation = options.field_validation(query.get("fieldValidation"))
            ctx.field_manager = options.field_manager(
                query.get("fieldManager"), request.META.get("HTTP_USER_AGENT", "")
            )
        content_type = request.META.get("CONTENT_TYPE", "")
        if verb == "create":
            if ri.subresource:
                obj = info.strategy.create_subresource(
                    info, ctx, ri.namespace, ri.name, ri.subresource, decode_body(body, content_type)
                )
                return json_response(obj, status=201)
            if ri.name:
                raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
            if info.strategy.virtual:
                return json_response(
                    info.strategy.create_virtual(info, ctx, decode_body(body, content_type)), status=201
                )
            new = decode_body(body, content_type)
            if confine:  # the server's label: added after the Store's reserved-metadata check
                ctx.server_labels[confine] = ""
            obj = STORE.create(info, ctx, ri.namespace, new)
            return json_response(obj, status=201, warnings=ctx.warnings)
        if verb == "update":
            data = decode_body(body, content_type)
            if ri.subresource == "finalize":
                obj = self.finalize_namespace(info, ctx, ri, data)
            else:
                obj = STORE.update(info, ctx, ri.namespace, ri.name, data, subresource=ri.subresource)
            return json_response(obj, warnings=ctx.warnings)
        if verb == "patch":
            media = media_type(content_type)
            if media not in PATCH_TYPES:
                raise errors.UnsupportedMediaType(
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(
                        t for t in PATCH_TYPES if info.strategy.allow_strategic_merge_patch or "strategic" not in t
                    )
                )
            if media == PATCH_APPLY:
                ctx.field_manager = query.get("fieldManager", "")  # required for apply: no User-Agent default
            data = yaml_decode(body) if media == PATCH_APPLY else json_decode(body)
            force = options._bool(query.get("force"))
            obj, created = STORE.patch(
                info, ctx, ri.namespace, ri.name, media, data, force=force, subresource=ri.subresource
            )
            return json_response(obj, status=201 if created else 200, warnings=ctx.warnings)
        if verb == "delete":
            opts = self.delete_options(body, content_type, query)
            ctx.dry_run = ctx.dry_run or options.dry_run(opts.get("dryRun") or [])
            obj = STORE.delete(info, ctx, ri.namespace, ri.name, opts)
            return json_response(obj)
        if verb == "deletecollection":
            lo = options.list_options(query, info, watch=False)
            opts = self.delete_options(body, content_type, query)
            ctx.dry_run = ctx.dry_run or options.dry_run(opts.get("dryRun") or [])
            result = STORE.delete_collection(
                info, ctx, ri.namespace, label_q=lo.label_q, field_q=lo.field_q, options=opts
            )
            return json_response(self.list_body(info, result.items, str(result.revision), "", None))
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")

    def confine(
        self, info: ResourceInfo, ctx: RequestContext, ri: RequestInfo, query: dict[str, str], label: str
    ) -> dict[str, str]:
        """Keep a request inside what the surface shows: an object without `label` is not there
        (404), whatever the verb; lists and deletecollections add the surface's selector for the
        verb to the client's."""
        if ri.name and ri.verb != "create":
            obj = STORE.get(info, ctx, ri.namespace, ri.name)
            if label not in (obj["metadata"].get("labels") or {}):
                raise errors.NotFound(f'{info.qualified} "{ri.name}" not found', name=ri.name, kind=info.resource)
            return query
        required = self.surface.required_selector(info, ri.verb)
        selector = query.get("labelSelector", "")
        return {**query, "labelSelector": f"{selector},{required}" if selector else required}

    def serve_scale(
        self, request: Request, info: ResourceInfo, ctx: RequestContext, ri: RequestInfo, query: dict[str, str]
    ) -> HttpResponse:
        if ri.verb == "get":
            return json_response(scale.scale_get(info, ctx, ri.namespace, ri.name))
        if ri.verb not in ("update", "patch"):
            raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
        body = self.read_body(request, required=True)
        ctx.dry_run = options.dry_run(request.query_params.getlist("dryRun"))
        ctx.field_manager = options.field_manager(query.get("fieldManager"), request.META.get("HTTP_USER_AGENT", ""))
        content_type = request.META.get("CONTENT_TYPE", "")
        if ri.verb == "update":
            return json_response(scale.scale_update(info, ctx, ri.namespace, ri.name, decode_body(body, content_type)))
        return json_response(
            scale.scale_patch(info, ctx, ri.namespace, ri.name, media_type(content_type), json_decode(body))
        )

    def list_objects(
        self, info: ResourceInfo, ctx: RequestContext, ri: RequestInfo, query: dict[str, str], accept: str
    ) -> HttpResponse:
        lo = options.list_options(query, info, watch=False)
        result = STORE.list(
            info,
            ctx,
            ri.namespace,
            label_q=lo.label_q,
            field_q=lo.field_q,
            limit=lo.limit,
            continue_token=lo.continue_token,
        )
        if lo.resource_version_match == "Exact" and lo.resource_version and int(lo.resource_version) != result.revision:
            raise errors.Expired(f"too old resource version: {lo.resource_version} ({result.revision})")
        rv = str(result.revision)
        if wants_table(accept):
            return json_response(
                table.table(
                    info,
                    result.items,
                    include_object=lo.include_object,
                    resource_version=rv,
                    continue_token=result.continue_token,
                    remaining=result.remaining,
                ),
                content_type=TABLE_CONTENT_TYPE,
            )
        return json_response(self.list_body(info, result.items, rv, result.continue_token, result.remaining))

    @staticmethod
    def list_body(
        info: ResourceInfo, items: list[dict[str, Any]], rv: str, token: str, remaining: int | None
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"resourceVersion": rv}
        if token:
            meta["continue"] = token
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        return {"kind": info.list_kind, "apiVersion": info.group_version, "metadata": meta, "items": items}

    def read_body(self, request: Request, *, required: bool) -> bytes:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            declared = int(length)
        except ValueError:
            declared = 0
        if declared > settings.KUBE_MAX_REQUEST_BYTES:
            raise errors.RequestEntityTooLarge(f"Request entity too large: limit is {settings.KUBE_MAX_REQUEST_BYTES}")
        body = request._request.read(settings.KUBE_MAX_REQUEST_BYTES + 1)
        if len(body) > settings.KUBE_MAX_REQUEST_BYTES:
            raise errors.RequestEntityTooLarge(f"Request entity too large: limit is {settings.KUBE_MAX_REQUEST_BYTES}")
        if required and not body.strip():
            raise errors.BadRequest("the request body is empty")
        return body

    def delete_options(self, body: bytes, content_type: str, query: dict[str, str]) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if body.strip():
            decoded = decode_body(body, content_type)
            if not isinstance(decoded, dict):
                raise errors.BadRequest("DeleteOptions must be an object")
            kind = decoded.get("kind")
            if kind not in (None, "", "DeleteOptions"):
                raise errors.BadRequest(f"the body of a DELETE must be DeleteOptions, not {kind}")
            options.delete_options_check_types(options=decoded)
            opts = decoded
        if "gracePeriodSeconds" in query:
            try:
                opts["gracePeriodSeconds"] = options.int64(query["gracePeriodSeconds"])
            except ValueError:
                raise errors.BadRequest("gracePeriodSeconds must be an integer") from None
        if query.get("propagationPolicy"):
            opts["propagationPolicy"] = query["propagationPolicy"]
        return opts

    def finalize_namespace(self, info: ResourceInfo, ctx: RequestContext, ri: RequestInfo, data: Any) -> dict[str, Any]:
        if info.resource != "namespaces":
            raise errors.NotFound("the server could not find the requested resource")
        from kube.builtin.namespaces import namespace_finalize

        if not isinstance(data, dict):
            raise errors.BadRequest("the body must be a Namespace")
        finalizers = list(((data.get("spec") or {}).get("finalizers")) or [])
        return namespace_finalize(ctx=ctx, name=ri.name, finalizers=finalizers)


class VirtualAPIView(KubeAPIView):
    """`/services/<virtual workspace>/<args…>/clusters/<cluster>/<api path>`: the same API over
    the virtual workspace's Surface."""

    def get(self, request: Request, path: str = "", cluster: str = "") -> HttpResponse:  # type: ignore[override]
        surface, cluster_path, rest = split_virtual_path(path)
        if not rest.startswith(("/api", "/openapi")):
            raise errors.NotFound("the server could not find the requested resource")
        return self.serve(request, rest.lstrip("/"), cluster_path, surface)

    post = put = patch = delete = head = get  # type: ignore[assignment]


def _gv_document(group: str, version: str, resources: tuple[ResourceInfo, ...]) -> tuple[bytes, str]:
    rendered = openapi.render_document(group, version, list(resources))
    return rendered.body, rendered.hash
