"""Resource descriptions and the per-logical-cluster catalogue.

Built-in kinds register once at start-up. Kinds that differ per logical cluster (CRDs, bound
APIs) come from *providers*: callables asked for the extra resources of one cluster, so a
cluster's catalogue costs nothing until a request for it arrives (DESIGN: no per-cluster memory
beyond small cache entries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kube.authz.rbac import Attributes
    from kube.schema import Schema
    from kube.storage.models import KubeObject

    from .strategy import Strategy

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Conversion:
    """How one served version maps to the stored one (both functions return new objects with the
    target apiVersion). Strategies, validation and storage only ever see the stored shape."""

    to_storage: Callable[[dict[str, Any]], dict[str, Any]]
    from_storage: Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, eq=False)
class ResourceInfo:
    """One served resource at one group/version.

    `storage_group`/`storage_resource` key the rows in storage; they equal group/resource for
    built-ins and CRDs and carry the export identity for bound APIs (two providers may export
    the same group/resource)."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    strategy: Strategy
    singular: str = ""
    list_kind: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    storage_group: str = ""
    storage_resource: str = ""
    origin: str = "builtin"
    schema_loader: Callable[[], Schema | None] | None = field(default=None, repr=False)
    extra_subresources: dict[str, tuple[str, str, str, tuple[str, ...]]] = field(default_factory=dict)
    """Subresources with their own kind: name → (group, version, kind, verbs), e.g. TokenRequest."""
    conversion: Conversion | None = field(default=None, repr=False)
    """For a version served besides the storage version (same storage keys, other shape)."""
    authorizer: Callable[[Attributes], None] | None = field(default=None, repr=False)
    """A check every request on this resource must also pass (raises Forbidden), besides the
    cluster's RBAC: kcp's maximal permission policy of the export a bound resource comes from."""
    table: type[KubeObject] | None = field(default=None, repr=False)
    """The concrete table of the kind's rows (a KubeObject model); None: the shared kube_object."""
    promoted: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, repr=False)
    """`table`'s own columns derived from a body, computed by storage in the same write as the
    body (so columns and body never disagree)."""

    def __post_init__(self) -> None:
        if not self.singular:
            object.__setattr__(self, "singular", self.kind.lower())
        if not self.list_kind:
            object.__setattr__(self, "list_kind", self.kind + "List")
        if not self.storage_group:
            object.__setattr__(self, "storage_group", self.group)
        if not self.storage_resource:
            object.__setattr__(self, "storage_resource", self.resource)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`configmaps` or `roles.rbac.authorization.k8s.io`: how errors name the resource."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def schema(self) -> Schema | None:
        return self.schema_loader() if self.schema_loader else None

    def has_subresource(self, name: str) -> bool:
        """Whether the kind declares the subresource `name` (in `subresources` or, with a kind of
        its own, in `extra_subresources`): the API serves a subresource only where it is declared,
        with the handlers of that subresource (kube.endpoints.handlers.subresources)."""
        return name in self.subresources or name in self.extra_subresources


Provider = Callable[[str], Iterable[ResourceInfo]]


class Registry:
    """Built-in resources plus per-cluster providers, resolved by (group, version, resource)."""

    def __init__(self) -> None:
        self._builtin: dict[tuple[str, str, str], ResourceInfo] = {}
        self._providers: list[Provider] = []

    def register(self, info: ResourceInfo) -> None:
        """Serve `info` in every logical cluster; its rows go to `info.table` when it names one."""
        self._builtin[(info.group, info.version, info.resource)] = info
        if info.table is not None:
            # Imported here: kube.registry is imported while Django loads apps, before models exist.
            from kube.storage.backend import register_table

            register_table(info.storage_group, info.storage_resource, info.table, info.promoted)

    def add_provider(self, provider: Provider, *, first: bool = False) -> None:
        """`first`: this provider's resources win over those of providers added before it (kcp:
        APIBinding-bound resources take precedence over a workspace's own CRDs)."""
        if first:
            self._providers.insert(0, provider)
        else:
            self._providers.append(provider)

    def builtins(self) -> list[ResourceInfo]:
        return list(self._builtin.values())

    def resources(self, cluster: str) -> list[ResourceInfo]:
        """Everything served in `cluster`; built-ins win over provided resources of the same name."""
        out = list(self._builtin.values())
        taken = set(self._builtin)
        for provider in self._providers:
            for info in provider(cluster):
                key = (info.group, info.version, info.resource)
                if key not in taken:
                    taken.add(key)
                    out.append(info)
        return out

    def resolve(self, *, cluster: str, group: str, version: str, resource: str) -> ResourceInfo | None:
        info = self._builtin.get((group, version, resource))
        if info is not None:
            return info
        for provider in self._providers:
            for candidate in provider(cluster):
                if (candidate.group, candidate.version, candidate.resource) == (group, version, resource):
                    return candidate
        return None

    def by_kind(self, *, cluster: str, group: str, version: str, kind: str) -> ResourceInfo | None:
        for info in self.resources(cluster):
            if (info.group, info.version, info.kind) == (group, version, kind):
                return info
        return None


REGISTRY = Registry()
