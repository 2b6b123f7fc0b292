"""The request pipeline, once for both transports: authenticate → resolve the logical cluster →
impersonate → admit → authorize → confine, ending in a `ResolvedRequest`.

The DRF views (`kube.endpoints.views`) and the watch consumer (`kube.endpoints.watch`) each turn
their transport's request into a `Target`, a query string and lower-case headers, call
`resolve_request`, and render the `StatusError` it may raise the same way (`.errors`), so the same
refused request gets the same code and Status body whether it asked for a watch or not. What
happens after resolution is one handler per verb (`kube.endpoints.handlers`).

Order matters and is the apiserver's: who is asking (401) before anything is looked up; the
surface's `admit` before any 404 can tell a refused caller what exists; RBAC (403) before any
object is read; confinement last, because it may read the addressed object. Per-tenant rate and
seats (kube.endpoints.fairness) come before all of this, in the ASGI layer, for both transports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from django.conf import settings

from kube import errors
from kube.authz.rbac import Attributes
from kube.authz.tokens import bearer_token, user_for_token
from kube.authz.user import UserInfo
from kube.registry import ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.store import STORE

from .fanout import FanOut
from .paths import RequestInfo, parse_resource_path
from .surface import DEFAULT, Surface, split_virtual_path

#: Verbs that address no single object of a namespaced kind: they may leave out the namespace.
_ACROSS_NAMESPACES = ("list", "watch", "deletecollection")
#: Verbs served across all logical clusters (`/clusters/*/…`).
_ACROSS_CLUSTERS = ("list", "watch")

NOT_FOUND = "the server could not find the requested resource"


@dataclass(frozen=True)
class Target:
    """Where a request goes, as its URL says: a logical cluster's own API
    (`/clusters/<cluster_path><path>`, or `<path>` for root), or a virtual workspace when
    `virtual` holds what follows `/services/` (split only after authentication, so an anonymous
    caller learns nothing of which virtual workspaces exist)."""

    cluster_path: str = "root"
    path: str = "/"
    virtual: str | None = None
    whole: bool = True
    """False for this backend's own part of a virtual workspace (`/shards/<this shard>/services/…`,
    settings.KUBE_OWN_PART_PREFIX): never fanned out (kube.endpoints.fanout)."""

    @classmethod
    def of_url(cls, url_path: str) -> Target:
        """The target of a whole (percent-decoded) URL path, as the URL patterns route it."""
        if url_path.startswith("/services/"):
            return cls(virtual=url_path[len("/services/") :])
        own = f"{settings.KUBE_OWN_PART_PREFIX}/services/"
        if url_path.startswith(own):
            return cls(virtual=url_path[len(own) :], whole=False)
        if url_path.startswith("/clusters/"):
            cluster_path, _, tail = url_path[len("/clusters/") :].partition("/")
            return cls(cluster_path=cluster_path, path="/" + tail)
        return cls(path=url_path)


@dataclass(frozen=True)
class ResolvedRequest:
    """A request that passed the pipeline: whom it acts as, where, on what, with which options.

    `request_info.verb` is the verb that was authorized (`watch` for every watch). `resource` is
    None for non-resource paths (discovery, OpenAPI). `query` holds the last value of each query
    parameter, with the surface's confining label selector already added to lists, watches and
    deletecollections; `dry_run` every `dryRun` value. `ctx` is the context the Store is called
    with (handlers set the write options on it)."""

    user: UserInfo
    cluster: str
    surface: Surface
    path: str
    request_info: RequestInfo
    resource: ResourceInfo | None
    ctx: RequestContext
    query: Mapping[str, str]
    dry_run: tuple[str, ...]
    headers: Mapping[str, str]
    confine: str = ""
    """The label every object of `resource` visible through the surface carries ("" = none)."""

    @property
    def info(self) -> ResourceInfo:
        """The resolved resource of a resource request."""
        assert self.resource is not None, "a non-resource request has no resource"
        return self.resource

    @property
    def verb(self) -> str:
        return self.request_info.verb

    @property
    def namespace(self) -> str:
        return self.request_info.namespace

    @property
    def name(self) -> str:
        return self.request_info.name

    @property
    def subresource(self) -> str:
        return self.request_info.subresource

    @property
    def accept(self) -> str:
        return self.headers.get("accept", "")

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


def fan_out_for(target: Target, req: ResolvedRequest) -> FanOut | None:
    """Where to fan a wildcard list or watch of a virtual workspace out to (kube.endpoints.fanout),
    when its surface is served in parts elsewhere too; None: served here."""
    if target.virtual is None or not target.whole or req.cluster != "*" or req.resource is None:
        return None
    fan = req.surface.fan_out()
    return fan if fan is not None and fan.needed(req.query.get("resourceVersion", "")) else None


def without_position(req: ResolvedRequest) -> ResolvedRequest:
    """The request without its resourceVersion (a fanned-out one's is each part's to read)."""
    query = {k: v for k, v in req.query.items() if k not in ("resourceVersion", "resourceVersionMatch")}
    return dataclasses.replace(req, query=query)


def authenticate(authorization: str) -> UserInfo:
    """The user of an `Authorization: Bearer <token>` header; 401 without one or with a token
    nobody holds (anonymous access is refused here, before anything is resolved)."""
    token = bearer_token(authorization)
    user = user_for_token(token) if token else None
    if user is None:
        raise errors.Unauthorized("Unauthorized")
    return user


def resolve_request(
    *, method: str, target: Target, query_string: str, headers: Mapping[str, str], watch: bool = False
) -> ResolvedRequest:
    """Run the pipeline for one request. `headers` are keyed by lower-case name; `watch` is
    whether the request asked for a watch stream. Raises the StatusError the caller answers."""
    user = authenticate(headers.get("authorization", ""))
    surface, cluster_path, path = DEFAULT, target.cluster_path, target.path
    if target.virtual is not None:
        surface, cluster_path, path = split_virtual_path(target.virtual)
        if not path.startswith(("/api", "/openapi")):
            raise errors.NotFound(NOT_FOUND)
    cluster = surface.resolve_cluster(cluster_path)
    user = surface.user(user, cluster, headers)
    params = parse_qs(query_string, keep_blank_values=True)
    query = {k: v[-1] for k, v in params.items()}
    dry_run = tuple(params.get("dryRun", ()))
    ri = parse_resource_path(path, method, watch=watch)
    if watch:
        ri = dataclasses.replace(ri, verb="watch")  # a watch of one named object is a watch too
    surface.admit(user, cluster, ri.verb or "get")
    ctx = RequestContext(cluster=cluster, user=user)
    if not ri.is_resource:
        if watch:
            raise errors.NotFound(NOT_FOUND)
        surface.authorize(user, cluster, Attributes.for_path(user, "get", path))
        return ResolvedRequest(user, cluster, surface, path, ri, None, ctx, query, dry_run, headers)
    if watch and ri.subresource:
        raise errors.NotFound(NOT_FOUND)  # no subresource is watched
    info = _resolve_resource(surface, cluster, ri)
    attrs = Attributes.for_resource(
        user,
        ri.verb,
        info.resource,
        api_group=info.group,
        subresource=ri.subresource,
        name=ri.name,
        namespace=ri.namespace,
        path=ri.path,
    )
    surface.authorize(user, cluster, attrs, info)
    if not watch:
        ctx.write_guard = surface.write_guard(info, cluster, ri.verb)
    label = surface.required_label(info)
    if label:
        query = _confine(surface, info, ctx, ri, query, label)
    return ResolvedRequest(user, cluster, surface, path, ri, info, ctx, query, dry_run, headers, label)


def _resolve_resource(surface: Surface, cluster: str, ri: RequestInfo) -> ResourceInfo:
    """The resource `ri` addresses, if it is served here for its verb: 404 for what does not
    exist in this shape (unknown resource or subresource, a namespace where there is none or
    none where one is needed), 405 for a verb the resource does not serve."""
    info = surface.resolve(cluster=cluster, group=ri.group, version=ri.version, resource=ri.resource)
    if info is None:
        raise errors.NotFound(NOT_FOUND)
    if ri.subresource and not info.has_subresource(ri.subresource):
        raise errors.NotFound(NOT_FOUND)
    if not info.namespaced and ri.namespace:
        raise errors.NotFound(NOT_FOUND)
    if info.namespaced and not ri.namespace and ri.verb not in _ACROSS_NAMESPACES:
        raise errors.NotFound(NOT_FOUND)
    if cluster == "*" and ri.verb not in _ACROSS_CLUSTERS:
        raise errors.MethodNotAllowed("only list and watch are served across logical clusters")
    if ri.verb not in info.verbs and ri.subresource not in info.extra_subresources:
        raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
    return info


def _confine(
    surface: Surface,
    info: ResourceInfo,
    ctx: RequestContext,
    ri: RequestInfo,
    query: dict[str, str],
    label: str,
) -> dict[str, str]:
    """Keep a request inside what the surface shows: a named object without `label` is not there
    (404), whatever the verb; lists, watches and deletecollections add the surface's selector for
    the verb to the client's (a watch of one named object too: what leaves the selector leaves
    the stream)."""
    if ri.name and ri.verb not in ("create", "watch"):
        obj = STORE.get(info, ctx, ri.namespace, ri.name)
        if label not in (obj["metadata"].get("labels") or {}):
            raise errors.NotFound(f'{info.qualified} "{ri.name}" not found', name=ri.name, kind=info.resource)
        return query
    required = surface.required_selector(info, ri.verb)
    selector = query.get("labelSelector", "")
    return {**query, "labelSelector": f"{selector},{required}" if selector else required}
