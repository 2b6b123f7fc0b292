"""Server-side apply (KEP-555) and the `metadata.managedFields` bookkeeping of every write.

This follows the apiserver's field manager (k8s.io/apimachinery/pkg/util/managedfields) and
structured-merge-diff's `merge.Updater`:

- A manager entry is identified by (manager, operation, subresource) for Apply and by
  (manager, operation, apiVersion, subresource) for Update; each identity has one entry.
- **Update** (create, update, non-apply patch): the fields whose values changed (all set fields
  on create) move to the writer's Update entry and out of everyone else's. Objects that have no
  managedFields are only tracked from their creation on, as upstream does.
- **Apply**: the configuration is merged into the live object by schema; the applier then owns
  exactly the fields of its configuration. Fields it applied last time and no longer applies
  are removed from the object unless another manager owns them. A change to a field owned by
  another manager is a conflict (409) unless `force` moves the ownership. Applying to an object
  without managedFields first attributes its current fields to `before-first-apply`.
- The manager `kubectl` gets upstream's client-side-apply migration aids: conflicts on fields
  that match its last-applied annotation are forced, and that annotation is kept in sync.
- Identity fields (`apiVersion`, `kind`, `metadata.name/namespace/uid/resourceVersion/
  generation/creationTimestamp/selfLink/managedFields`) are never recorded.
- At most 10 Update entries are kept; the oldest are merged into `ancient-changes`.

Callers pass the time (`now`, RFC 3339) so writes are deterministic and testable.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kube import errors
from kube.patch._json import go_json, json_equal
from kube.patch.fieldpath import Path, fields_to_set, iterate, path_string, set_to_fields
from kube.patch.typed import TypedError, compare, field_set, merge, remove_items, with_named_parents
from kube.schema.core import Schema

APPLY = "Apply"
UPDATE = "Update"
BEFORE_FIRST_APPLY = "before-first-apply"
ANCIENT_CHANGES = "ancient-changes"
MAX_UPDATE_MANAGERS = 10
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

STRIPPED: frozenset[Path] = frozenset(
    [("f:apiVersion",), ("f:kind",), ("f:metadata",)]
    + [
        ("f:metadata", "f:" + name)
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    ]
)
"""Paths never recorded in a manager's set (upstream `stripMetaManager`)."""


@dataclass
class ManagedEntry:
    """One `metadata.managedFields[]` entry, with its field set decoded."""

    manager: str
    operation: str
    api_version: str
    fields: set[Path] = field(default_factory=set)
    time: str | None = None
    subresource: str = ""

    @property
    def identifier(self) -> str:
        return manager_identifier(self.manager, self.operation, self.api_version, self.subresource)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.manager:
            out["manager"] = self.manager
        out["operation"] = self.operation
        out["apiVersion"] = self.api_version
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = set_to_fields(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


Managed = dict[str, ManagedEntry]


def manager_identifier(manager: str, operation: str, api_version: str, subresource: str = "") -> str:
    """Upstream's manager key: the JSON of the entry without time and fields, and without the
    apiVersion for appliers (so re-applying in another version updates the same entry)."""
    ident: dict[str, str] = {}
    if manager:
        ident["manager"] = manager
    if operation:
        ident["operation"] = operation
    if api_version and operation != APPLY:
        ident["apiVersion"] = api_version
    if subresource:
        ident["subresource"] = subresource
    return json.dumps(ident, separators=(",", ":"))


def decode_managed_fields(entries: Any) -> Managed:
    """Parse `metadata.managedFields`; ValueError on anything upstream would not decode."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    managed: Managed = {}
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise ValueError(f"managed fields entry {i} must be an object")
        operation, api_version = raw.get("operation"), raw.get("apiVersion")
        if operation not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        if not isinstance(api_version, str) or not api_version:
            raise ValueError("apiVersion must not be empty")
        if raw.get("fieldsType") != "FieldsV1":
            raise ValueError(f"invalid fieldsType {raw.get('fieldsType')!r} in managed fields entry {i}")
        manager, subresource, time = raw.get("manager") or "", raw.get("subresource") or "", raw.get("time")
        if not isinstance(manager, str) or not isinstance(subresource, str) or not isinstance(time, (str, type(None))):
            raise ValueError(f"malformed managed fields entry {i}")
        entry = ManagedEntry(manager, operation, api_version, fields_to_set(raw.get("fieldsV1")), time, subresource)
        managed[entry.identifier] = entry
    return managed


def encode_managed_fields(managed: Managed) -> list[dict[str, Any]]:
    """Entries in upstream's order: Apply before Update, then oldest first, then by name."""
    entries = sorted(
        managed.values(),
        key=lambda e: (e.operation, _epoch(e.time), e.manager, e.api_version, e.subresource),
    )
    return [e.to_dict() for e in entries]


# --- update -------------------------------------------------------------------------------------
def update_managed_fields(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    operation: str = UPDATE,
    api_version: str,
    schema: Schema | None,
    now: str,
    subresource: str = "",
) -> list[dict[str, Any]]:
    """managedFields after a create (`old` None), update or non-apply patch writing `new`.

    The starting point is the managedFields of `new` when the write set any (a user overwrite,
    e.g. kubectl's client-side to server-side apply migration), else those of `old`; `[]` or
    `[{}]` resets them, and on a subresource the request's are ignored. Unparseable ones fall
    back to `old`'s. The changed fields then go to `manager`. Returns [] when nothing is owned."""
    live_raw = _meta(old).get("managedFields")
    if subresource:
        managed = _decode_or_empty(live_raw)
    else:
        given = _meta(new).get("managedFields")
        if _is_reset(given):
            managed = {}
        else:
            managed = _decode_or_empty(given) or _decode_or_empty(live_raw)
    if not managed and old is not None:
        return []
    try:
        managed = _record_update(
            managed,
            _without_managed(old),
            _without_managed(new),
            manager=manager or "unknown",
            operation=operation,
            api_version=api_version,
            subresource=subresource,
            now=now,
            schema=schema,
        )
    except TypedError:
        return copy.deepcopy(live_raw) if isinstance(live_raw, list) else []
    return encode_managed_fields(managed)


def _record_update(
    managed: Managed,
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    manager: str,
    operation: str,
    api_version: str,
    subresource: str,
    now: str,
    schema: Schema | None,
) -> Managed:
    diff = compare(old, new, schema)
    touched = diff.changed | diff.removed
    out: Managed = {}
    for key, entry in managed.items():
        kept = entry.fields - touched
        if kept:
            out[key] = replace(entry, fields=kept)
    mine = diff.changed - STRIPPED
    if mine:
        entry = ManagedEntry(manager, operation, api_version, mine, now, subresource)
        previous = out.get(entry.identifier)
        if previous is not None:
            entry.fields |= previous.fields
        out[entry.identifier] = entry
    return _cap_update_managers(out)


def _cap_update_managers(managed: Managed) -> Managed:
    """Merge the oldest Update entries into one `ancient-changes` entry per apiVersion until at
    most MAX_UPDATE_MANAGERS remain."""
    updaters = sorted(
        (k for k, e in managed.items() if e.operation != APPLY), key=lambda k: (_epoch(managed[k].time), k)
    )
    count = len(updaters)
    first_of_version: dict[str, str] = {}
    for key in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        entry = managed.get(key)
        if entry is None:
            continue
        bucket = manager_identifier(ANCIENT_CHANGES, UPDATE, entry.api_version)
        if entry.api_version not in first_of_version:
            first_of_version[entry.api_version] = key
            continue
        if bucket not in managed:
            first = managed.pop(first_of_version[entry.api_version])
            managed[bucket] = ManagedEntry(ANCIENT_CHANGES, UPDATE, first.api_version, first.fields, first.time)
        if key == bucket:
            continue
        merged = managed[bucket].fields | entry.fields
        managed[bucket] = ManagedEntry(ANCIENT_CHANGES, UPDATE, entry.api_version, merged, entry.time)
        del managed[key]
        count -= 1
    return managed


# --- apply --------------------------------------------------------------------------------------
def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    force: bool,
    schema: Schema | None,
    now: str,
    subresource: str = "",
) -> dict[str, Any]:
    """Apply the configuration `applied` for `manager` to `live` (None: the object does not exist
    yet and is built from the configuration). Returns the new object with its managedFields.

    Raises BadRequest when the configuration sets managedFields, Invalid when it does not fit
    the schema (duplicate list-map keys, items without any key field; upstream answers 500), and
    Conflict with one FieldManagerConflict cause per field when another manager owns a field the
    configuration changes and `force` is false. Live managedFields that do not decode are treated
    as absent (upstream answers 500)."""
    if not isinstance(applied, dict):
        raise errors.BadRequest("error decoding patch: the applied configuration is not an object")
    if _meta(applied).get("managedFields") is not None:
        raise errors.BadRequest("metadata.managedFields must be nil")
    manager = manager or "unknown"
    live_obj = _without_managed(live)
    managed = _decode_or_empty(_meta(live).get("managedFields"))
    try:
        if not managed:
            managed = _record_update(
                {},
                {},
                live_obj,
                manager=BEFORE_FIRST_APPLY,
                operation=UPDATE,
                api_version=api_version,
                subresource=subresource,
                now=now,
                schema=schema,
            )
        result, managed = _apply(
            live_obj,
            copy.deepcopy(applied),
            managed,
            manager=manager,
            api_version=api_version,
            force=force,
            schema=schema,
            now=now,
            subresource=subresource,
        )
    except TypedError as exc:
        raise errors.Invalid(f"failed to create typed patch object ({_describe(applied)}): {exc}") from exc
    if manager == "kubectl" and (_meta(result).get("annotations") or {}).get(LAST_APPLIED):
        result["metadata"]["annotations"][LAST_APPLIED] = _last_applied(applied)
    metadata = result.setdefault("metadata", {})
    if managed:
        metadata["managedFields"] = encode_managed_fields(managed)
    else:
        metadata.pop("managedFields", None)
    return result


def _apply(
    live: dict[str, Any],
    config: dict[str, Any],
    managed: Managed,
    *,
    manager: str,
    api_version: str,
    force: bool,
    schema: Schema | None,
    now: str,
    subresource: str,
) -> tuple[dict[str, Any], Managed]:
    nulls: set[Path] = set()
    config_set = field_set(config, schema, nulls)
    merged = merge(live, config, schema)
    managed = {key: replace(entry, fields=set(entry.fields)) for key, entry in managed.items()}
    applier = manager_identifier(manager, APPLY, "", subresource)
    previous = managed.get(applier)
    managed[applier] = ManagedEntry(
        manager, APPLY, api_version, config_set, previous.time if previous else None, subresource
    )
    if previous is not None and previous.fields:
        # prune: what this manager applied before, no longer applies, and nobody else owns
        owned = set().union(*(entry.fields for entry in managed.values())) | STRIPPED
        doomed = with_named_parents(previous.fields, schema) - with_named_parents(owned, schema)
        merged = remove_items(merged, doomed, schema)
    diff = compare(live, merged, schema)
    conflicts = {
        key: entry.fields & diff.changed
        for key, entry in managed.items()
        if key != applier and entry.fields & diff.changed
    }
    if conflicts and not force:
        if manager == "kubectl":
            conflicts = _not_covered_by_last_applied(conflicts, live, schema, api_version)
        if conflicts:
            raise _conflict_error(conflicts)
    for key, entry in managed.items():
        if key != applier:
            entry.fields -= diff.changed | diff.removed
    managed[applier].fields -= STRIPPED
    managed = {key: entry for key, entry in managed.items() if entry.fields}
    changed = not json_equal(live, merged)
    result = remove_items(merged, nulls, schema, only_nulls=True) if nulls else merged
    if applier in managed and (changed or managed[applier].time is None):
        managed[applier].time = now
    return result, managed


def _not_covered_by_last_applied(
    conflicts: dict[str, set[Path]], live: dict[str, Any], schema: Schema | None, api_version: str
) -> dict[str, set[Path]]:
    """kubectl's migration from client-side apply: conflicts on fields whose live value is still
    the one recorded in the last-applied annotation are not conflicts (upstream
    `lastAppliedManager`). Returns the conflicts that remain."""
    annotation = (_meta(live).get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(annotation) if isinstance(annotation, str) else None
        if not isinstance(last, dict) or last.get("apiVersion") != api_version:
            return conflicts
        diff = compare(last, live, schema)
        allowed = field_set(last, schema) - diff.added - diff.removed - diff.modified
    except (ValueError, TypedError):
        return conflicts
    remaining = {key: paths - allowed for key, paths in conflicts.items()}
    return {key: paths for key, paths in remaining.items() if paths}


def _conflict_error(conflicts: dict[str, set[Path]]) -> errors.Conflict:
    """409 in upstream's wording (`Apply failed with N conflict(s): ...`) with one
    FieldManagerConflict cause per field."""
    managers = sorted(conflicts)
    causes: list[errors.Cause] = []
    lines: list[str] = []
    for key in managers:
        who = _print_manager(key)
        lines.append(f"conflicts with {who}:")
        for path in iterate(conflicts[key]):
            causes.append(errors.Cause("FieldManagerConflict", f"conflict with {who}", path_string(path)))
            lines.append(f"- {path_string(path)}")
    if len(causes) == 1:
        message = f"Apply failed with 1 conflict: {causes[0].message}: {causes[0].field}"
    else:
        message = f"Apply failed with {len(causes)} conflicts: " + "\n".join(lines)
    return errors.Conflict(message, causes=causes)


def _print_manager(identifier: str) -> str:
    ident = json.loads(identifier)
    text = json.dumps(ident.get("manager", ""), ensure_ascii=False)
    if ident.get("subresource"):
        text += f" with subresource {json.dumps(ident['subresource'], ensure_ascii=False)}"
    if ident.get("operation") == UPDATE:
        text += f" using {ident.get('apiVersion', '')}"
    return text


def _last_applied(applied: dict[str, Any]) -> str:
    """The annotation value kubectl would write: the configuration without the annotation itself,
    as Go encodes it (sorted keys, trailing newline)."""
    config = copy.deepcopy(applied)
    annotations = _meta(config).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    return go_json(config) + "\n"


# --- helpers ------------------------------------------------------------------------------------
def _meta(obj: Any) -> dict[str, Any]:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _without_managed(obj: dict[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    if isinstance(out.get("metadata"), dict):
        out["metadata"].pop("managedFields", None)
    return out


def _decode_or_empty(entries: Any) -> Managed:
    try:
        return decode_managed_fields(entries)
    except ValueError:
        return {}


def _is_reset(entries: Any) -> bool:
    """`[]` and `[{}]` mean "drop all managedFields" (upstream `isResetManagedFields`)."""
    if not isinstance(entries, list):
        return False
    if not entries:
        return True
    return len(entries) == 1 and isinstance(entries[0], dict) and all(v in (None, "") for v in entries[0].values())


def _epoch(time: str | None) -> int:
    if not time:
        return 0
    try:
        return int(datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _describe(obj: dict[str, Any]) -> str:
    md = _meta(obj)
    return f"{md.get('namespace', '')}/{md.get('name', '')}; {obj.get('apiVersion', '')}, Kind={obj.get('kind', '')}"
