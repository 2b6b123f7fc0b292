"""Components of kinds without a built-in definition (custom resources, kcp kinds), and the per-document
:class:`Names` that decides, for each kind, between a built-in definition and a generated component.

Generated components are named like upstream's CRD documents (``com.example.v1.Widget``) and completed
with ``apiVersion``, ``kind`` and an ``ObjectMeta`` ``metadata``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kube.schema.core import definition_name_for_gvk

from .schemas import JSON, LIST_META, OBJECT_META, SCHEMA_PREFIX, is_builtin, refs_of, to_openapi_schema

if TYPE_CHECKING:
    from kube.registry.resources import ResourceInfo
    from kube.schema import Schema

__all__ = ["Names", "generated_schema_name"]


def generated_schema_name(group: str, version: str, kind: str) -> str:
    """Upstream's CRD naming: reversed group, version, kind (`com.example.v1.Widget`)."""
    reversed_group = ".".join(reversed(group.split("."))) if group else ""
    return ".".join(p for p in (reversed_group, version, kind) if p)


_API_VERSION_PROP = {
    "description": "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    "type": "string",
}
_KIND_PROP = {
    "description": "Kind is a string value representing the REST resource this object represents. Servers may infer "
    "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    "type": "string",
}
_PERMISSIVE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _gvk_list(group: str, version: str, kind: str) -> list[JSON]:
    return [{"group": group, "kind": kind, "version": version}]


def _custom_kind_schema(info: ResourceInfo, schema: Schema | None, into: dict[str, JSON]) -> JSON:
    """The component of a kind without a built-in definition, from its structural schema.

    The structural schema is converted like built-ins (a no-op for OpenAPI-form CRD schemas).
    References resolve to built-in definitions or to `schema.defs` (those are added to `into`);
    any other reference becomes permissive. `metadata` is always ObjectMeta, as the apiserver
    serves it for custom resources whatever the CRD declares."""
    extra_defs: dict[str, Any] = (schema.defs if schema is not None else None) or {}

    def known(name: str) -> bool:
        return is_builtin(name) or name in extra_defs

    converted = to_openapi_schema(schema.node, known=known) if schema is not None else None
    node: JSON = dict(converted) if isinstance(converted, dict) else dict(_PERMISSIVE)
    node.setdefault("type", "object")
    properties = dict(node.get("properties") or {})
    properties["apiVersion"] = _API_VERSION_PROP
    properties["kind"] = _KIND_PROP
    properties["metadata"] = {"allOf": [{"$ref": SCHEMA_PREFIX + OBJECT_META}]}
    node["properties"] = properties
    node["x-kubernetes-group-version-kind"] = _gvk_list(info.group, info.version, info.kind)

    # definitions of the kind's own schema document that are not built-ins
    stack = [n for n in refs_of(node) if not is_builtin(n)]
    while stack:
        name = stack.pop()
        if name in into or name not in extra_defs:
            continue
        into[name] = to_openapi_schema(extra_defs[name], known=known)
        stack.extend(n for n in refs_of(into[name]) if not is_builtin(n))
    return node


def _list_schema(group: str, version: str, kind: str, list_kind: str, item_ref: str) -> JSON:
    return {
        "description": f"{list_kind} is a list of {kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": _API_VERSION_PROP,
            "items": {
                "description": f"List of {kind.lower()}s.",
                "type": "array",
                "items": {"$ref": SCHEMA_PREFIX + item_ref},
            },
            "kind": _KIND_PROP,
            "metadata": {"allOf": [{"$ref": SCHEMA_PREFIX + LIST_META}]},
        },
        "x-kubernetes-group-version-kind": _gvk_list(group, version, list_kind),
    }


class Names:
    """Component names of the kinds of one document; generates schemas for kinds without definitions.

    `generated` collects the generated components; `loaded` caches `ResourceInfo.schema()` by
    `id(info)` because loading a structural schema may be costly and is needed only once."""

    def __init__(self, loaded: dict[int, Schema | None]) -> None:
        self.loaded = loaded
        self.generated: dict[str, JSON] = {}

    def schema_of(self, info: ResourceInfo) -> Schema | None:
        key = id(info)
        if key not in self.loaded:
            self.loaded[key] = info.schema()
        return self.loaded[key]

    def kind_schema(self, info: ResourceInfo) -> str:
        name = definition_name_for_gvk(info.group, info.version, info.kind)
        if name is not None:
            return name
        name = generated_schema_name(info.group, info.version, info.kind)
        if name not in self.generated:
            self.generated[name] = _custom_kind_schema(info, self.schema_of(info), self.generated)
        return name

    def list_schema(self, info: ResourceInfo, kind_ref: str) -> str:
        name = definition_name_for_gvk(info.group, info.version, info.list_kind)
        if name is not None:
            return name
        name = generated_schema_name(info.group, info.version, info.list_kind)
        if name not in self.generated:
            self.generated[name] = _list_schema(info.group, info.version, info.kind, info.list_kind, kind_ref)
        return name

    def other_kind(self, group: str, version: str, kind: str) -> str:
        """A subresource's own kind (Scale, TokenRequest …): built-in, else permissive."""
        name = definition_name_for_gvk(group, version, kind)
        if name is not None:
            return name
        name = generated_schema_name(group, version, kind)
        if name not in self.generated:
            self.generated[name] = {**_PERMISSIVE, "x-kubernetes-group-version-kind": _gvk_list(group, version, kind)}
        return name
