"""Request path → RequestInfo, as the apiserver's RequestInfoFactory does it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kube import errors

NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclass
class RequestInfo:
    is_resource: bool
    path: str
    verb: str = ""
    api_prefix: str = ""
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""


def parse_resource_path(path: str, method: str, *, watch: bool) -> RequestInfo:
    """`path` is the part after any /clusters/<name> prefix, starting with /api or /apis."""
    parts = [p for p in path.strip("/").split("/") if p != ""]
    info = RequestInfo(is_resource=False, path=path)
    if not parts or parts[0] not in ("api", "apis"):
        return info
    info.api_prefix = parts[0]
    rest = parts[1:]
    if parts[0] == "api":
        if len(rest) < 2:
            return info
        info.group, info.version, rest = "", rest[0], rest[1:]
    else:
        if len(rest) < 3:
            return info
        info.group, info.version, rest = rest[0], rest[1], rest[2:]
    info.is_resource = True
    if rest[0] == "namespaces" and len(rest) > 1:
        info.namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    if len(rest) > 3:
        raise errors.NotFound("the server could not find the requested resource")
    info.resource = rest[0]
    if len(rest) > 1:
        info.name = rest[1]
    if len(rest) > 2:
        info.subresource = rest[2]
    if info.resource == "namespaces" and info.name:
        # /api/v1/namespaces/<ns> addresses the namespace object itself, not a scope.
        info.namespace = ""
    m = method.upper()
    if m in ("GET", "HEAD"):
        info.verb = ("watch" if watch else "list") if not info.name else "get"
    elif m == "POST":
        info.verb = "create"
    elif m == "PUT":
        info.verb = "update"
    elif m == "PATCH":
        info.verb = "patch"
    elif m == "DELETE":
        info.verb = "delete" if info.name else "deletecollection"
    else:
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    return info


# --- logical clusters -----------------------------------------------------------------------------

ClusterResolver = Callable[[str], "str | None"]


def _root_only(path: str) -> str | None:
    return "root" if path == "root" else None


_resolver: ClusterResolver = _root_only


def set_cluster_resolver(resolver: ClusterResolver) -> None:
    """Installed by the workspaces app: maps `root:a:b` paths or logical-cluster names to the
    logical cluster name, or None when there is no such cluster."""
    global _resolver
    _resolver = resolver


def resolve_cluster(path_or_name: str) -> str:
    if path_or_name == "*":
        return "*"
    name = _resolver(path_or_name)
    if name is None:
        raise errors.NotFound(f'logical cluster "{path_or_name}" not found', name=path_or_name, kind="logicalclusters")
    return name
