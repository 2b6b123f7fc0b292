"""The APIExport virtual workspace (reference/kcp.md §2, §4.6):
`/services/apiexport/<export path>/<export name>/clusters/<consumer or *>/…`.

The provider sees, across every consumer that binds the export: the exported resources (all
verbs; stored under the export's identity, so a wildcard list reads only this export's rows), the
resources of accepted permission claims and the consumers' APIBindings of this export
(read-only). Every request needs the verb on `apiexports/content` of the export in the export's
workspace.

Each shard serves this workspace for the consumers it holds (their rows are in its database): an
export whose workspace is on another shard is read from the cache, and `apiexports/content` is
checked against that workspace's replicated RBAC; a shard without consumers of the export answers
an empty list. (A claim naming another export's identity is resolved on this shard only.)

A claimed resource is held to what each consumer accepted, consumer by consumer
(`apis.claims.claim_grants`): a request for one consumer needs the verb in that consumer's
effective verbs (403 otherwise; 404 when it does not bind or accept at all); every object a
write touches must be inside the accepted selector before and after the write (the Store runs
the check inside the write's transaction, so patches and applies, computed there, are held too);
wildcard lists and watches select on the claim label's value, which says whether the consumer
granted list or watch (see apis/claims.py for why a label). Subresources that do not write the
claimed object through the Store (token requests, namespace finalization) and kinds without
stored objects (reviews) are not served for claims: no selector could hold them."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from django.conf import settings

from kube import errors
from kube.authz.authorizer import authorize, effective_user, impersonate
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.endpoints.fanout import FanOut
from kube.endpoints.surface import Surface, VirtualWorkspace, register_virtual_workspace
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import WriteGuard
from kube.registry.resources import ALL_VERBS
from kube.registry.strategy import field
from shards.selectors import local_shard_name, shard_base_urls

from .admission import export_cluster_for
from .bindings import schema_infos
from .claims import ClaimGrant, claim_grants, claim_label_selector
from .kinds import API_BINDINGS, API_EXPORTS, API_RESOURCE_SCHEMAS
from .models import APIBindingRow, APIExportRow, APIResourceSchemaRow
from .names import GROUP, claim_label, export_label
from .presence import apiexport_shards
from .remote import remote_lookup

Obj = dict[str, Any]
READ_VERBS = ("get", "list", "watch")
#: Subresources of a claimed resource the provider may use: both write the object via the Store.
CLAIMED_SUBRESOURCES = ("status", "scale")


class APIExportSurface(Surface):
    def __init__(self, export_path: str, export_name: str) -> None:
        self.export_path = export_path
        self.export_name = export_name
        self.export_cluster = export_cluster_for(consumer="", path=export_path) or ""
        self._labels: dict[int, str] = {}
        #: id(claimed ResourceInfo) → the export's permission claim it serves.
        self._claims: dict[int, Obj] = {}
        self._bindings: dict[str, list[Obj]] = {}

    @functools.cached_property
    def export(self) -> Obj | None:
        if not self.export_cluster:
            return None
        return remote_lookup(API_EXPORTS, cluster=self.export_cluster, name=self.export_name)

    def resolve_cluster(self, path_or_name: str) -> str:
        return path_or_name  # a consumer's logical cluster name; authorize() checks it binds the export

    def fan_out(self) -> FanOut | None:
        """The shards holding bindings of the export, each serving its own consumers at
        `<its base URL>/shards/<shard>/services/apiexport/<path>/<export>`: the export's shared
        URL lists and watches them merged (kube.endpoints.fanout)."""
        if not self.export_cluster:
            return None
        suffix = f"/services/apiexport/{self.export_path}/{self.export_name}"

        def url_of(shard: str) -> str | None:
            base = shard_base_urls(names=[shard]).get(shard)
            return f"{base.rstrip('/')}/shards/{shard}{suffix}" if base else None

        holding = apiexport_shards(export_cluster=self.export_cluster, export_name=self.export_name)
        bases = shard_base_urls(names=holding)
        parts = {s: f"{bases[s].rstrip('/')}/shards/{s}{suffix}" for s in holding if s in bases}
        return FanOut(here=local_shard_name(), parts=parts, url_of=url_of, ca_file=settings.KCP_CA_FILE)

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
                if info.strategy.virtual:
                    continue  # nothing stored, nothing shared
                subresources = tuple(s for s in info.subresources if s in CLAIMED_SUBRESOURCES)
                infos.append(dataclasses.replace(info, verbs=verbs, subresources=subresources, extra_subresources={}))
                self._labels[id(infos[-1])] = label
                self._claims[id(infos[-1])] = claim
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

    def required_selector(self, info: ResourceInfo, verb: str) -> str:
        """For a claimed resource, lists and watches return only objects whose consumer granted
        that verb (the claim label's value)."""
        label = self.required_label(info)
        if id(info) in self._claims:
            return claim_label_selector(label, verb)
        return label

    def write_guard(self, info: ResourceInfo, cluster: str, verb: str) -> WriteGuard | None:
        """For a claimed resource: every object written must be inside the selector of a claim of
        the consumer that grants `verb` (and `create`, for a write that creates), before and
        after the write, so the provider can neither write outside what is shared nor move an
        object out of it or into it."""
        claim = self._claims.get(id(info))
        if claim is None or cluster == "*":
            return None

        def guard(old: Obj | None, new: Obj | None) -> None:
            needed = {verb} if old is not None else {verb, "create"}
            grants = [g for g in self._grants(cluster, claim) if needed <= g.verbs]
            for obj in (old, new):
                if obj is not None and not any(g.reaches(obj["metadata"].get("labels")) for g in grants):
                    raise self._outside_selector(info, cluster, verb, obj, grants or self._grants(cluster, claim))

        return guard

    def _outside_selector(
        self, info: ResourceInfo, cluster: str, verb: str, obj: Obj, grants: list[ClaimGrant]
    ) -> errors.Forbidden:
        name = str(obj["metadata"].get("name", ""))
        bindings = _binding_names(grants)
        return errors.Forbidden(
            f'{info.qualified} "{name}" is forbidden: APIExport "{self.export_path}:{self.export_name}" cannot {verb} '
            f'it in logical cluster "{cluster}": the object is outside the selector of the permission claim on '
            f"{info.qualified} accepted by APIBinding {bindings}",
            kind=info.resource,
            group=info.group,
            name=name,
        )

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
            authorize(user, self.export_cluster, content, replicated=True)  # the export may be on another shard
        except errors.Forbidden:
            raise denied from None

    def authorize(self, user: UserInfo, cluster: str, attrs: Attributes, info: ResourceInfo | None = None) -> None:
        """The verb on `apiexports/content`, then the consumer must bind the export (and have
        accepted the claim of a claimed resource): 404 otherwise; and for a claimed resource the
        verb must be one the consumer granted: 403 otherwise. (Across `*` only lists and watches
        are served; they select on what each consumer granted.)"""
        self.admit(user, cluster, attrs.verb)
        if cluster == "*":
            return
        claim = self._claims.get(id(info)) if info is not None else None
        if claim is None:
            if not any(field(b, "status", "phase") == "Bound" for b in self._consumer_bindings(cluster)):
                raise _no_consumer(cluster)
            return
        assert info is not None
        grants = self._grants(cluster, claim)
        if not grants:
            raise _no_consumer(cluster)
        if not any(attrs.verb in g.verbs for g in grants):
            granted = sorted(set().union(*(g.verbs for g in grants)))
            bindings = _binding_names(grants)
            raise errors.Forbidden(
                f'APIExport "{self.export_path}:{self.export_name}" cannot {attrs.verb} {info.qualified} in logical '
                f'cluster "{cluster}": the permission claim on {info.qualified} accepted by APIBinding {bindings} '
                f"grants {', '.join(granted) or 'no verbs'}",
                kind=info.resource,
                group=info.group,
                name=attrs.name,
            )

    def _consumer_bindings(self, cluster: str) -> list[Obj]:
        """The consumer's bindings of this export (read once per request)."""
        if cluster not in self._bindings:
            self._bindings[cluster] = list(
                APIBindingRow.objects.filter(
                    cluster=cluster, export_cluster=self.export_cluster, export_name=self.export_name
                ).values_list("body", flat=True)
            )
        return self._bindings[cluster]

    def _grants(self, cluster: str, claim: Obj) -> list[ClaimGrant]:
        return claim_grants(bindings=self._consumer_bindings(cluster), export_claim=claim)


def _no_consumer(cluster: str) -> errors.NotFound:
    return errors.NotFound(f'logical cluster "{cluster}" not found', name=cluster, kind="logicalclusters")


def _binding_names(grants: list[ClaimGrant]) -> str:
    """The APIBindings behind `grants`, quoted, for a refusal's message."""
    return ", ".join(sorted({f'"{g.binding}"' for g in grants}))


def _schema_infos(export_cluster: str, schema_name: str, identity: str) -> list[ResourceInfo]:
    """The export's schema as the provider sees it (the schema's current UID: the export owns it)."""
    uid = (
        APIResourceSchemaRow.objects.filter(cluster=export_cluster, name=schema_name)
        .values_list("uid", flat=True)
        .first()
    )
    if uid is None:  # the export's workspace on another shard: its schema from the cache
        schema = remote_lookup(API_RESOURCE_SCHEMAS, cluster=export_cluster, name=schema_name)
        uid = schema["metadata"].get("uid") if schema else None
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
