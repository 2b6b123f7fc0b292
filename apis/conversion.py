"""apis.kcp.io v1alpha1 ↔ v1alpha2 (storage) for APIExport and APIBinding (reference/kcp.md §1.3).

What differs:
* APIExport `spec.latestResourceSchemas: ["<prefix>.<plural>.<group>"]` (v1alpha1) is
  `spec.resources: [{group, name, schema, storage: {crd: {}}}]` (v1alpha2).
* Permission claims: v1alpha1 `all: true` / `resourceSelector` versus v1alpha2 `verbs` on the
  export's claims and `selector: {matchAll: true}` on the binding's.

What v1alpha1 cannot express (claim verbs, virtual storage, label selectors) is kept in the
annotation `apis.kcp.io/v1alpha2-spec` so a v1alpha1 read-modify-write loses nothing."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from kube.registry.resources import Conversion

Obj = dict[str, Any]
GROUP = "apis.kcp.io"
PRESERVE = "apis.kcp.io/v1alpha2-spec"


def _split_schema_name(name: str) -> tuple[str, str]:
    """`v1.cowboys.wildwest.dev` → (`wildwest.dev`, `cowboys`); group `core` means the core group."""
    parts = name.split(".")
    if len(parts) < 3:
        return "", parts[-1] if parts else ""
    group = ".".join(parts[2:])
    return ("" if group == "core" else group), parts[1]


def _preserved(obj: Obj) -> Obj:
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(PRESERVE)
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _strip_preserved(obj: Obj) -> None:
    annotations = (obj.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(PRESERVE, None)
        if not annotations:
            obj["metadata"].pop("annotations")


def _preserve(obj: Obj, spec: Obj) -> None:
    obj.setdefault("metadata", {}).setdefault("annotations", {})[PRESERVE] = orjson.dumps(spec).decode()


def _claim_v1(claim: Obj, *, binding: bool) -> Obj:
    out = {k: v for k, v in claim.items() if k not in ("verbs", "selector")}
    if binding:
        selector = claim.get("selector") or {}
        if not selector or selector.get("matchAll"):
            out["all"] = True
    else:
        out["all"] = True
    return out


def _claim_v2(claim: Obj, previous: list[Obj], *, binding: bool) -> Obj:
    out = {k: v for k, v in claim.items() if k not in ("all", "resourceSelector")}
    key = (claim.get("group", ""), claim.get("resource"), claim.get("identityHash", ""))
    before = next(
        (p for p in previous if (p.get("group", ""), p.get("resource"), p.get("identityHash", "")) == key), None
    )
    if binding:
        out["selector"] = (before or {}).get("selector") or {"matchAll": True}
        if before and before.get("verbs"):
            out["verbs"] = before["verbs"]
    else:
        out["verbs"] = (before or {}).get("verbs") or ["*"]
    return out


# --- APIExport --------------------------------------------------------------------------------------


def export_to_storage(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"{GROUP}/v1alpha2"
    before = _preserved(out)
    _strip_preserved(out)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    schemas = spec.pop("latestResourceSchemas", None) or []
    old_resources = [r for r in before.get("resources") or [] if isinstance(r, dict)]
    resources = []
    for name in schemas if isinstance(schemas, list) else []:
        group, plural = _split_schema_name(str(name))
        kept = next((r for r in old_resources if r.get("schema") == name), None)
        resources.append(kept or {"group": group, "name": plural, "schema": name, "storage": {"crd": {}}})
    spec["resources"] = resources
    claims = spec.get("permissionClaims")
    if isinstance(claims, list):
        spec["permissionClaims"] = [
            _claim_v2(c, before.get("permissionClaims") or [], binding=False) for c in claims if isinstance(c, dict)
        ]
    return out


def export_from_storage(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"{GROUP}/v1alpha1"
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    _preserve(out, {k: spec[k] for k in ("resources", "permissionClaims") if k in spec})
    spec["latestResourceSchemas"] = [r.get("schema") for r in spec.pop("resources", None) or [] if isinstance(r, dict)]
    if isinstance(spec.get("permissionClaims"), list):
        spec["permissionClaims"] = [
            _claim_v1(c, binding=False) for c in spec["permissionClaims"] if isinstance(c, dict)
        ]
    return out


# --- APIBinding -------------------------------------------------------------------------------------


def binding_to_storage(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"{GROUP}/v1alpha2"
    before = _preserved(out)
    _strip_preserved(out)
    spec = out.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("permissionClaims"), list):
        spec["permissionClaims"] = [
            _claim_v2(c, before.get("permissionClaims") or [], binding=True)
            for c in spec["permissionClaims"]
            if isinstance(c, dict)
        ]
    return out


def binding_from_storage(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"{GROUP}/v1alpha1"
    spec = out.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("permissionClaims"), list):
        _preserve(out, {"permissionClaims": spec["permissionClaims"]})
        spec["permissionClaims"] = [_claim_v1(c, binding=True) for c in spec["permissionClaims"] if isinstance(c, dict)]
    status = out.get("status")
    if isinstance(status, dict):
        for key in ("appliedPermissionClaims", "exportPermissionClaims"):
            if isinstance(status.get(key), list):
                status[key] = [_claim_v1(c, binding=key == "appliedPermissionClaims") for c in status[key]]
    return out


EXPORT_V1ALPHA1 = Conversion(to_storage=export_to_storage, from_storage=export_from_storage)
BINDING_V1ALPHA1 = Conversion(to_storage=binding_to_storage, from_storage=binding_from_storage)
