"""Non-resource paths of a logical cluster's API: discovery (`/api`, `/apis`, their groups and
versions, aggregated or not) and OpenAPI (`/openapi/v2`, `/openapi/v3` and its documents)."""

from __future__ import annotations

from typing import Any

from kube import errors
from kube.registry import ResourceInfo

from .. import discovery, openapi
from ..negotiation import AGGREGATED_DISCOVERY_CONTENT_TYPE, wants_aggregated_discovery
from ..pipeline import NOT_FOUND, ResolvedRequest
from ..versioninfo import VERSION_INFO
from .base import METHOD_NOT_ALLOWED, Reply


def serve(req: ResolvedRequest, *, method: str, host: str) -> Reply:
    """GET (or HEAD) of a non-resource path; `host` names this server in `/api`'s answer.
    Nothing here is written: any other method is 405."""
    if method not in ("GET", "HEAD"):
        raise errors.MethodNotAllowed(METHOD_NOT_ALLOWED)
    if req.path.startswith("/openapi/"):
        return openapi_document(req)
    return discovery_document(req, host)


def discovery_document(req: ResolvedRequest, host: str) -> Reply:
    resources = req.surface.resources(req.cluster)
    parts = [p for p in req.path.strip("/").split("/") if p]
    if parts in (["api"], ["apis"]):
        core = parts == ["api"]
        if wants_aggregated_discovery(req.accept):
            return Reply(discovery.aggregated(resources, core=core), content_type=AGGREGATED_DISCOVERY_CONTENT_TYPE)
        return Reply(discovery.api_versions(host) if core else discovery.api_group_list(resources))
    doc: dict[str, Any] | None = None
    if len(parts) == 2 and parts[0] == "api":
        doc = discovery.api_resource_list(resources, "", parts[1])
    elif len(parts) == 2 and parts[0] == "apis":
        doc = discovery.api_group(resources, parts[1])
    elif len(parts) == 3 and parts[0] == "apis":
        doc = discovery.api_resource_list(resources, parts[1], parts[2])
    if doc is None:
        raise errors.NotFound(NOT_FOUND)
    return Reply(doc)


def openapi_document(req: ResolvedRequest) -> Reply:
    parts = [p for p in req.path.strip("/").split("/") if p]
    if parts == ["openapi", "v2"]:
        title, version = "kcp-django", VERSION_INFO["gitVersion"]
        if openapi.OPENAPI_V2_PROTOBUF in req.accept:
            return Reply(
                raw=openapi.openapi_v2_protobuf(title, version), content_type=openapi.OPENAPI_V2_PROTOBUF_RESPONSE
            )
        return Reply(openapi.openapi_v2(title, version))
    if parts[:2] != ["openapi", "v3"]:
        raise errors.NotFound(NOT_FOUND)
    groups: dict[tuple[str, str], list[ResourceInfo]] = {}
    for r in req.surface.resources(req.cluster):
        groups.setdefault((r.group, r.version), []).append(r)
    if len(parts) == 2:
        hashes = {openapi.gv_path(g, v): _gv_document(g, v, tuple(rs))[1] for (g, v), rs in groups.items()}
        return Reply(openapi.openapi_index(hashes))
    rest = parts[2:]
    if rest[0] == "api" and len(rest) == 2:
        key = ("", rest[1])
    elif rest[0] == "apis" and len(rest) == 3:
        key = (rest[1], rest[2])
    else:
        raise errors.NotFound(NOT_FOUND)
    if key not in groups:
        raise errors.NotFound(NOT_FOUND)
    body, _ = _gv_document(key[0], key[1], tuple(groups[key]))
    return Reply(raw=body, headers={"Cache-Control": "public, immutable"} if req.query.get("hash") else {})


def _gv_document(group: str, version: str, resources: tuple[ResourceInfo, ...]) -> tuple[bytes, str]:
    rendered = openapi.render_document(group, version, list(resources))
    return rendered.body, rendered.hash
