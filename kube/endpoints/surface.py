"""What one request sees: which logical cluster, which resources, who decides.

A logical cluster's own API (`/clusters/<path>/...`) is the default `Surface`: the registry's
catalogue for that cluster and its RBAC. A *virtual workspace* (kcp's `/services/<name>/...`, e.g.
the provider view of an APIExport) is another Surface over the same generic views, store and
watch machinery: it chooses its own catalogue (resources stored under other keys), its own
authorization (a permission in another workspace), and may confine lists and watches with a
label every visible object carries. The request pipeline (kube.endpoints.pipeline, shared by the
views and the watch consumer) only ever asks the Surface, so a virtual workspace is a Surface
subclass and a registration, never new views.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kube import errors
from kube.authz.authorizer import authorize, effective_user, impersonate
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import WriteGuard

from .fanout import FanOut
from .paths import resolve_cluster


class Surface:
    """A logical cluster's own API."""

    def resolve_cluster(self, path_or_name: str) -> str:
        return resolve_cluster(path_or_name)

    def user(self, user: UserInfo, cluster: str, headers: Mapping[str, str]) -> UserInfo:
        """The identity the request acts as: credentials of another workspace count as anonymous,
        impersonation only as RBAC grants it."""
        return impersonate(effective_user(user, cluster), cluster, dict(headers))

    def admit(self, user: UserInfo, cluster: str, verb: str) -> None:
        """A check before anything is resolved, so a refused caller learns nothing from 404s."""

    def resources(self, cluster: str) -> list[ResourceInfo]:
        return REGISTRY.resources(cluster)

    def resolve(self, *, cluster: str, group: str, version: str, resource: str) -> ResourceInfo | None:
        return REGISTRY.resolve(cluster=cluster, group=group, version=version, resource=resource)

    def authorize(self, user: UserInfo, cluster: str, attrs: Attributes, info: ResourceInfo | None = None) -> None:
        authorize(user, cluster, attrs)
        if info is not None and info.authorizer is not None and not user.is_admin:
            info.authorizer(attrs)

    def required_label(self, info: ResourceInfo) -> str:
        """A label key every object of `info` visible here must carry ("" = no confinement).
        Single-object requests answer 404 without it; creates get it."""
        return ""

    def required_selector(self, info: ResourceInfo, verb: str) -> str:
        """The label selector (query syntax) a list, watch or deletecollection with `verb` adds to
        the client's own ("" = none): at least the required label. A surface may ask more of
        some verbs than of others (which objects a wildcard list may return can differ from
        which a watch may), and because a watch applies it to every event, an object that stops
        matching leaves the stream as DELETED."""
        return self.required_label(info)

    def write_guard(self, info: ResourceInfo, cluster: str, verb: str) -> WriteGuard | None:
        """A check of every object a `verb` request on `info` writes here (None = none), run by
        the Store inside the write's transaction (see RequestContext.write_guard)."""
        return None

    def fan_out(self) -> FanOut | None:
        """Where the parts of this surface's wildcard view are served, when other backends serve
        some (kube.endpoints.fanout); None: this backend serves all of it."""
        return None


DEFAULT = Surface()


@dataclass(frozen=True)
class VirtualWorkspace:
    """`/services/<name>/<arg 1>/…/<arg N>/clusters/<cluster>/<api path>`: `arity` arguments
    before `clusters`, turned into a Surface by `surface(args)` (which must not leak whether
    what the arguments name exists: its `authorize` decides)."""

    name: str
    arity: int
    surface: Callable[[list[str]], Surface]


_virtual: dict[str, VirtualWorkspace] = {}


def register_virtual_workspace(vw: VirtualWorkspace) -> None:
    _virtual[vw.name] = vw


def split_virtual_path(path: str) -> tuple[Surface, str, str]:
    """`<name>/<args…>/clusters/<cluster>/<rest>` (after `/services/`) → (surface, cluster path,
    `/rest`). Unknown services and malformed paths are 404."""
    parts = path.strip("/").split("/")
    vw = _virtual.get(parts[0]) if parts else None
    if vw is None or len(parts) < vw.arity + 3 or parts[vw.arity + 1] != "clusters":
        raise errors.NotFound("the server could not find the requested resource")
    args = parts[1 : vw.arity + 1]
    if any(not a for a in args):
        raise errors.NotFound("the server could not find the requested resource")
    cluster = parts[vw.arity + 2]
    rest = "/" + "/".join(parts[vw.arity + 3 :])
    return vw.surface(args), cluster, rest
