"""The APIExport virtual workspace (reference/kcp.md §2, §4.6):
`/services/apiexport/<export path>/<export name>/clusters/<consumer or *>/…`.

The provider sees, across every consumer that binds the export: the exported resources (all
verbs; stored under the export's identity, so a wildcard list reads only this export's rows), the
resources of accepted permission claims (the claim's verbs, only objects carrying the claim label)
and the consumers' APIBindings of this export (read-only). Every request needs the verb on
`apiexports/content` of the export in the export's workspace."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from kube import errors
from kube.authz.authorizer import authorize, effective_user, impersonate
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.endpoints.surface import Surface, VirtualWorkspace, register_virtual_workspace
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.resources import ALL_VERBS
from kube.registry.strategy import field
from kube.storage import backend
from kube.storage.backend import Key

from .bindings import claim_label, export_cluster_for, export_label, schema_infos
from .kinds import API_BINDINGS, GROUP
from .models import APIBindingRow, APIExportRow, APIResourceSchemaRow

Obj = dict[str, Any]
READ_VERBS = ("get", "list", "watch")


class APIExportSurface(Surface):
    def __init__(self, export_path: str, export_name: str) -> None:
        self.export_path = export_path
        self.export_name = export_name
        self.export_cluster = export_cluster_for(consumer="", path=export_path) or ""
        self._labels: dict[int, str] = {}

    @functools.cached_property
    def export(self) -> Obj | None:
        if not self.export_cluster:
            return None
        return backend.get(Key(self.export_cluster, GROUP, "apiexports", "", self.export_name))

    def resolve_cluster(self, path_or_name: str) -> str:
        return path_or_name  # a consumer's logical cluster name; authorize() checks it binds the export

    def user(self, user: UserInfo, cluster: str, headers: Any) -> UserInfo:
        """Who the provider is in its own workspace (credentials of other workspaces are anonymous)."""
        home = self.export_cluster or "*"
        return impersonate(effective_user(user, home), home, dict(headers))

    @functools.cached_property
    def _resources(self) -> list[ResourceInfo]:
        export = self.export
        if export is None or export["metadata"].get("deletionTimestamp"):
            return []
        identity = str(field(export, "status", "identityHash") or "")
        if not identity:
            return []
        infos: list[ResourceInfo] = []
        for entry in field(export, "spec", "resources") or []:
            if isinstance(entry, dict):
                infos.extend(_schema_infos(self.export_cluster, str(entry.get("schema") or ""), identity))
        label = claim_label(export_cluster=self.export_cluster, export_name=self.export_name)
        for claim in field(export, "spec", "permissionClaims") or []:
            if not isinstance(claim, dict):
                continue
            verbs = tuple(claim.get("verbs") or ())
            verbs = ALL_VERBS if "*" in verbs else tuple(v for v in ALL_VERBS if v in verbs)
            for info in _claimed_infos(claim):
                if any((i.group, i.resource) == (info.group, info.resource) for i in infos):
                    continue  # kcp: claims overlapping the export's own resources are ignored
                infos.append(dataclasses.replace(info, verbs=verbs))
                self._labels[id(infos[-1])] = label
        bindings = dataclasses.replace(API_BINDINGS, verbs=READ_VERBS, subresources=())
        infos.append(bindings)
        self._labels[id(bindings)] = export_label(export_cluster=self.export_cluster, export_name=self.export_name)
        return infos

    def resources(self, cluster: str) -> list[ResourceInfo]:
        return self._resources

    def resolve(self, *, cluster: str, group: str, version: str, resource: str) -> ResourceInfo | None:
        for info in self._resources:
            if (info.group, info.version, info.resource) == (group, version, resource):
                return info
        return None

    def required_label(self, info: ResourceInfo) -> str:
        return self._labels.get(id(info), "")

    def admit(self, user: UserInfo, cluster: str, verb: str) -> None:
        """`apiexports/content` of this export in its workspace, before anything else is looked
        at: the same 403 whether or not the export exists."""
        denied = errors.Forbidden(
            f'User "{user.name}" cannot {verb} resource "apiexports/content" in API group "{GROUP}" '
            f'for APIExport "{self.export_path}:{self.export_name}"',
            kind="apiexports",
            group=GROUP,
            name=self.export_name,
        )
        if not self.export_cluster:
            raise denied
        if user.is_admin:
            return
        content = Attributes.for_resource(
            user, verb, "apiexports", api_group=GROUP, subresource="content", name=self.export_name
        )
        try:
            authorize(user, self.export_cluster, content)
        except errors.Forbidden:
            raise denied from None

    def authorize(self, user: UserInfo, cluster: str, attrs: Attributes, info: ResourceInfo | None = None) -> None:
        """The verb on `apiexports/content`, then the consumer must bind the export (and have
        accepted the claim of a claimed resource): 404 otherwise."""
        self.admit(user, cluster, attrs.verb)
        if cluster != "*" and not self._binds(cluster, info):
            raise errors.NotFound(f'logical cluster "{cluster}" not found', name=cluster, kind="logicalclusters")

    def _binds(self, cluster: str, info: ResourceInfo | None) -> bool:
        """The consumer binds the export (Bound), and for a claimed resource accepted the claim."""
        bodies = APIBindingRow.objects.filter(
            cluster=cluster, export_cluster=self.export_cluster, export_name=self.export_name
        ).values_list("body", flat=True)
        label = self.required_label(info) if info is not None else ""
        for body in bodies:
            if field(body, "status", "phase") != "Bound":
                continue
            if not label.startswith("claimed."):
                return True
            assert info is not None
            for claim in field(body, "status", "appliedPermissionClaims") or []:
                if (claim.get("group", ""), claim.get("resource")) == (info.group, info.resource):
                    return True
        return False


def _schema_infos(export_cluster: str, schema_name: str, identity: str) -> list[ResourceInfo]:
    """The export's schema as the provider sees it (the schema's current UID: the export owns it)."""
    uid = (
        APIResourceSchemaRow.objects.filter(cluster=export_cluster, name=schema_name)
        .values_list("uid", flat=True)
        .first()
    )
    if uid is None:
        return []
    served = schema_infos(export_cluster=export_cluster, schema_name=schema_name, uid=str(uid), identity_hash=identity)
    return [dataclasses.replace(i, origin="apiexport") for i in served]


def _claimed_infos(claim: Obj) -> list[ResourceInfo]:
    """A claimed resource: a built-in, or (with identityHash) another export's resource."""
    group, resource = str(claim.get("group", "")), str(claim.get("resource", ""))
    identity = str(claim.get("identityHash", ""))
    if not identity:
        return [i for i in REGISTRY.builtins() if (i.group, i.resource) == (group, resource) and i.origin == "builtin"]
    owner = APIExportRow.objects.filter(identity_hash=identity).values_list("cluster", "body").first()
    if owner is None:
        return []
    owner_cluster, owner_body = owner
    for entry in field(owner_body, "spec", "resources") or []:
        if isinstance(entry, dict) and (entry.get("group", ""), entry.get("name")) == (group, resource):
            return _schema_infos(owner_cluster, str(entry.get("schema") or ""), identity)
    return []


def register_apiexport_virtual_workspace() -> None:
    register_virtual_workspace(
        VirtualWorkspace(name="apiexport", arity=2, surface=lambda args: APIExportSurface(args[0], args[1]))
    )
