"""core.kcp.io/v1alpha1 Shard (reference/kcp.md §1.2, kcp 0.34): the shards of the deployment, in
root. `spec.baseURL` is required; `externalURL` and `virtualWorkspaceURL` default to it.

The objects are a view: every shard registers and heartbeats in its record in the global database
(`shards.models.ShardRecord`, `shards.services`), and the shard hosting root keeps these objects in
step with the records (`shards.mirror`); the cordon and the limits operators write here flow back
to the records, which placement reads.

Who writes what, as in kcp 0.34: the system owns the object. Clients — root admins included —
may only set the cordon annotation (`experimental.core.kcp.io/unschedulable`, kcp's
`ShardUnschedulableAnnotationKey`; its presence cordons) and `spec.resourceLimits`; creating or
deleting a Shard, any other spec field, the status and the labels the shard registered are the
system's (403). Other labels and annotations outside kcp's reserved domain stay free metadata, as
on any object (the generic API contract relies on them); the registered ones are listed in the
reserved annotation `core.kcp.io/shard-labels`, so a client cannot unprotect them either."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kube import errors
from kube.authz.user import SYSTEM_USER
from kube.errors import FieldErrors
from kube.registry import REGISTRY, Column, ResourceInfo, Strategy
from kube.registry.reserved import exempt_metadata_key
from kube.registry.strategy import field
from kube.schema import Schema
from kube.timefmt import parse_rfc3339

from .models import ShardRow

if TYPE_CHECKING:
    from kube.registry.context import RequestContext

Obj = dict[str, Any]
CORE = "core.kcp.io"
ROOT = "root"
URL_FIELDS = ("baseURL", "externalURL", "virtualWorkspaceURL")
#: kcp's ShardUnschedulableAnnotationKey: present = cordoned (the value is not read, as in kcp).
CORDON_ANNOTATION = "experimental.core.kcp.io/unschedulable"
#: The label keys the shard registered (comma-separated): protected from clients.
LABELS_ANNOTATION = "core.kcp.io/shard-labels"
#: How often a shard heartbeats (a column update of its record) and the mirror passes run.
HEARTBEAT_SECONDS = 10
MIRROR_SECONDS = 10
#: After how long without a heartbeat a shard is not Ready and gets no new logical clusters: three
#: missed beats, so one slow beat (a worker busy with a long task, a global-database failover of a
#: few seconds) does not take a shard out of placement, while a dead one leaves it within 30 s.
STALE_SECONDS = 3 * HEARTBEAT_SECONDS


def is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def is_system(ctx: RequestContext) -> bool:
    """The system's own controllers (no client can authenticate or impersonate as them)."""
    return ctx.user.name == SYSTEM_USER.name


def registered_label_keys(obj: Obj) -> set[str]:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(LABELS_ANNOTATION, "")
    return {k for k in str(value).split(",") if k}


def _system_owned(obj: Obj) -> dict[str, Any]:
    """What only the system may change: the spec but its resourceLimits, the status, the
    registered labels."""
    keys = registered_label_keys(obj)
    labels = (obj.get("metadata") or {}).get("labels") or {}
    raw = obj.get("spec")
    spec: Obj = raw if isinstance(raw, dict) else {}
    return {
        "spec": {k: v for k, v in spec.items() if k != "resourceLimits"},
        "status": obj.get("status") or {},
        "metadata.labels": {k: v for k, v in labels.items() if k in keys},
        "metadata.annotations": ((obj.get("metadata") or {}).get("annotations") or {}).get(LABELS_ANNOTATION),
    }


def _forbidden(name: str, why: str) -> errors.Forbidden:
    return errors.Forbidden(f'shards.{CORE} "{name}" is forbidden: {why}', name=name, kind="shards", group=CORE)


def limits(obj: Obj) -> tuple[int, int, str]:
    """(soft, hard, problem) of `spec.resourceLimits.*.workspaces`: 0 = no limit; `problem` is
    kcp's InvalidResourceLimits message when a value is negative or soft ≥ hard (then neither
    limit applies)."""
    out = []
    for level in ("soft", "hard"):
        value = field(obj, "spec", "resourceLimits", level, "workspaces")
        out.append(value if isinstance(value, int) and not isinstance(value, bool) else 0)
    soft, hard = out
    if soft < 0 or hard < 0:
        return 0, 0, f"workspace limits must not be negative (soft {soft}, hard {hard})"
    if soft and hard and soft >= hard:
        return 0, 0, f"the soft workspace limit ({soft}) must be below the hard one ({hard})"
    return soft, hard, ""


def heartbeat_of(obj: Obj) -> datetime | None:
    for c in field(obj, "status", "conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready" and c.get("lastHeartbeatTime"):
            try:
                return parse_rfc3339(str(c["lastHeartbeatTime"]))
            except ValueError:
                return None
    return None


def condition_status(obj: Obj, type_: str) -> str:
    for c in field(obj, "status", "conditions") or []:
        if isinstance(c, dict) and c.get("type") == type_:
            return str(c.get("status", "Unknown"))
    return "Unknown"


def operator_settings(obj: Obj) -> tuple[bool, int, int]:
    """What operators set on a Shard object, as its record holds it: (cordoned, soft, hard); an
    invalid pair of limits limits nothing (`limits`)."""
    soft, hard, _ = limits(obj)
    return CORDON_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {}), soft, hard


def _workspaces_cell(obj: Obj) -> str:
    used = field(obj, "status", "used", "workspaces")
    soft, hard, _ = limits(obj)
    shown = str(used if isinstance(used, int) else 0)
    return f"{shown}/{hard}" if hard else shown


class ShardStrategy(Strategy):
    has_status_subresource = True
    allow_strategic_merge_patch = False

    def admit(self, obj: Obj, old: Obj | None, *, ctx: RequestContext) -> None:
        name = obj["metadata"].get("name", "")
        if ctx.cluster != ROOT:
            raise _forbidden(name, "shards live in the root workspace")
        spec = obj.get("spec")
        if isinstance(spec, dict) and spec.get("baseURL"):
            for key in ("externalURL", "virtualWorkspaceURL"):
                spec.setdefault(key, spec["baseURL"])
        if is_system(ctx):
            return
        if old is None:
            raise _forbidden(name, "shards register themselves; clients may only cordon them and set their limits")
        before, after = _system_owned(old), _system_owned(obj)
        for part in ("spec", "status", "metadata.labels", "metadata.annotations"):
            if before[part] != after[part]:
                raise _forbidden(
                    name,
                    f"{part} is set by the shard; clients may only change the {CORDON_ANNOTATION} "
                    "annotation and spec.resourceLimits",
                )

    def admit_delete(self, obj: Obj, *, ctx: RequestContext) -> None:
        if not is_system(ctx):
            raise _forbidden(
                obj["metadata"].get("name", ""),
                "shards are removed by their operators (manage.py kcp_shard_deregister), not through the API",
            )

    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        spec = obj.get("spec")
        if not isinstance(spec, dict) or not spec.get("baseURL"):
            errs.required("spec.baseURL")
            return errs
        for key in URL_FIELDS:
            if key in spec and not is_url(spec[key]):
                errs.invalid(f"spec.{key}", spec[key], "must be an http(s) URL")
        resource_limits = spec.get("resourceLimits")
        if resource_limits is not None and not isinstance(resource_limits, dict):
            errs.invalid("spec.resourceLimits", resource_limits, "spec.resourceLimits in body must be of type object")
        for level in ("soft", "hard"):
            part = (resource_limits or {}).get(level) if isinstance(resource_limits, dict) else None
            path = f"spec.resourceLimits.{level}"
            if part is None:
                continue
            if not isinstance(part, dict):
                errs.invalid(path, part, f"{path} in body must be of type object")
                continue
            value = part.get("workspaces")
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                errs.invalid(f"{path}.workspaces", value, f"{path}.workspaces in body must be of type integer")
        return errs

    def columns(self) -> list[Column]:
        return [
            Column("Region", "string", lambda o: (o["metadata"].get("labels") or {}).get("region", "")),
            Column("URL", "string", lambda o: field(o, "spec", "baseURL") or ""),
            Column(
                "Ready",
                "string",
                lambda o: condition_status(o, "Ready"),
                description="A fresh heartbeat in the shard's record",
            ),
            Column(
                "Schedulable",
                "string",
                lambda o: condition_status(o, "Schedulable"),
                description="False when cordoned",
            ),
            Column("Workspaces", "string", _workspaces_cell, description="Logical clusters placed (/hard limit)"),
            Column("External URL", "string", lambda o: field(o, "spec", "externalURL") or "", priority=1),
            Column(
                "Limits",
                "string",
                lambda o: "{}/{}".format(*limits(o)[:2]),
                description="soft/hard workspaces (0: none)",
                priority=1,
            ),
        ]


_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_LIMIT = {"type": "object", "properties": {"workspaces": {}}}


def _derive(body: Obj) -> dict[str, Any]:
    soft, hard, _ = limits(body)
    used = field(body, "status", "used", "workspaces")
    return {
        "base_url": str(field(body, "spec", "baseURL") or ""),
        "external_url": str(field(body, "spec", "externalURL") or ""),
        "virtual_workspace_url": str(field(body, "spec", "virtualWorkspaceURL") or ""),
        "heartbeat": heartbeat_of(body),
        "cordoned": CORDON_ANNOTATION in ((body.get("metadata") or {}).get("annotations") or {}),
        "used_workspaces": used if isinstance(used, int) else 0,
        "soft_limit": soft,
        "hard_limit": hard,
    }


SHARDS = ResourceInfo(
    group=CORE,
    version="v1alpha1",
    resource="shards",
    kind="Shard",
    namespaced=False,
    strategy=ShardStrategy(),
    categories=("kcp",),
    subresources=("status",),
    origin="kcp",
    table=ShardRow,
    promoted=_derive,
    schema_loader=functools.cache(
        functools.partial(
            Schema,
            {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": _OPEN,
                    "spec": {
                        "type": "object",
                        "properties": {
                            "baseURL": {"type": "string"},
                            "externalURL": {"type": "string"},
                            "virtualWorkspaceURL": {"type": "string"},
                            "resourceLimits": {"type": "object", "properties": {"soft": _LIMIT, "hard": _LIMIT}},
                        },
                    },
                    "status": {
                        "type": "object",
                        "properties": {
                            "capacity": _OPEN,
                            "used": _OPEN,
                            "conditions": {"type": "array", "items": _OPEN},
                        },
                    },
                },
            },
            {},
        )
    ),
)


def register() -> None:
    REGISTRY.register(SHARDS)
    # kcp.io metadata is the system's, but cordoning is an operator's switch (kcp's allow-list);
    # the Shard strategy keeps every other client write off the object.
    exempt_metadata_key(CORDON_ANNOTATION)
