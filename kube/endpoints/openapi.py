"""OpenAPI v3 documents: the `/openapi/v3` index and one document per group/version.

Why this exists (reference/kube-clients.md §0.3, §4, checklist rows 21–25): kubectl 1.35 runs
`create/apply/replace/edit` with `--validate=strict` by default. Before sending, it fetches
`/openapi/v3`, then the document of the object's group/version, and looks for a PATCH operation
whose `x-kubernetes-group-version-kind` (an *object*) is the object's GVK and which has a
`fieldValidation` query parameter. Without that it falls back to `/openapi/v2` as protobuf and
fails. The same PATCH operation's `requestBody.content` decides whether client-side apply sends a
strategic merge patch built from `components.schemas` (`x-kubernetes-patch-*` markers), and
`kubectl explain` renders `components.schemas` entries found through their
`x-kubernetes-group-version-kind` *list*.

Everything here is a pure function of its arguments (no request handling, no storage):

* `gv_path(group, version)`: `api/v1` or `apis/<group>/<version>`, the index key.
* `openapi_document(group, version, resources)`: the OpenAPI 3.0 document of one group/version.
* `document_json(doc)` / `document_hash(doc)`: canonical bytes and their stable hash.
* `openapi_index({gv_path: hash})`: the `/openapi/v3` index body.
* `render_document(group, version, resources)`: document + canonical bytes + hash, cached by
  content, for the request path.

Built-in kinds take their schemas from kubernetes-validate's JSON-schema definitions (the same
source as strict validation and strategic merge patch), converted to OpenAPI 3.0 as upstream
documents have them: `"type": ["string", "null"]` becomes `"type": "string"`, and
`$ref: #/$defs/X` becomes `#/components/schemas/X`, wrapped in `allOf` when the reference carries
sibling keys (descriptions, `x-kubernetes-*` markers). Each definition is converted at most once
per process and shared by every document that includes it, so **documents are read-only**:
callers must never mutate a returned document or anything inside it.

Kinds without a built-in definition (custom resources, kcp kinds) get a schema built from their
structural schema (`ResourceInfo.schema()`), named like upstream's CRD documents
(`com.example.v1.Widget`) and completed with `apiVersion`, `kind` and an `ObjectMeta` `metadata`.

Determinism: the same resources (in any order) give byte-identical `document_json` output, so the
hash in the index only changes when the document does (kubectl caches documents by that URL).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from kube.schema.core import KUBERNETES_SCHEMA_VERSION, builtin_definitions, definition_name_for_gvk

if TYPE_CHECKING:
    from kube.registry.resources import ResourceInfo
    from kube.schema import Schema

__all__ = [
    "RenderedDocument",
    "document_hash",
    "document_json",
    "generated_schema_name",
    "gv_path",
    "openapi_document",
    "openapi_index",
    "render_document",
    "to_openapi_schema",
]

JSON = dict[str, Any]

SCHEMA_PREFIX = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
PATCH = META + "Patch"
#: Always part of a document: operations reference them (errors, delete bodies, patch bodies).
ALWAYS_INCLUDED = (STATUS, DELETE_OPTIONS, PATCH)

PATCH_TYPES_GENERIC = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

#: Subresources listed by name in `ResourceInfo.subresources`: verbs and, where it differs from the
#: parent's, the kind served. Names not listed default to the parent kind with get/update/patch.
_SUBRESOURCES: dict[str, tuple[tuple[str, ...], tuple[str, str, str] | None]] = {
    "status": (("get", "update", "patch"), None),
    "scale": (("get", "update", "patch"), ("autoscaling", "v1", "Scale")),
    "finalize": (("update",), None),
}
_DEFAULT_SUBRESOURCE_VERBS = ("get", "update", "patch")

#: Kubernetes verb → (HTTP method on the item path, operation-id verb, x-kubernetes-action).
_ITEM_VERBS = {
    "get": ("get", "read", "get"),
    "update": ("put", "replace", "put"),
    "patch": ("patch", "patch", "patch"),
    "delete": ("delete", "delete", "delete"),
    "create": ("post", "create", "post"),
}


# --- public API ---------------------------------------------------------------------------------


def gv_path(group: str, version: str) -> str:
    """The index key and URL tail of a group/version: `api/v1` for core, else `apis/<g>/<v>`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_document(group: str, version: str, resources: list[ResourceInfo]) -> JSON:
    """The OpenAPI 3.0 document for `group`/`version` serving `resources`.

    Contract:
    * Only resources whose group/version match are described; order of `resources` is irrelevant.
    * `paths` has, per resource and according to its verbs, the collection path (GET list, POST,
      DELETE collection), the cluster-wide list path of namespaced resources, the item path
      (GET, PUT, PATCH, DELETE) and one path per subresource.
    * Every operation carries `x-kubernetes-group-version-kind` as an object; every PATCH has the
      query parameters `dryRun`, `fieldManager`, `fieldValidation`, `force` and a `requestBody`
      listing JSON patch, merge patch, apply patch and — only when the resource's strategy allows
      it — strategic merge patch. POST and PUT have `dryRun`, `fieldManager`, `fieldValidation`.
    * `components.schemas` is closed: every `$ref` in the document resolves inside it, and it
      holds nothing else (the kinds, their lists, and what they reference transitively).
    * The result shares cached sub-dicts with other documents: treat it as read-only.
    """
    return _build_document(group, version, resources, {})


def _build_document(
    group: str, version: str, resources: Iterable[ResourceInfo], loaded: dict[int, Schema | None]
) -> JSON:
    """`openapi_document`, reusing structural schemas already loaded (by `id(info)`) in `loaded`."""
    gv_resources = sorted(
        (r for r in resources if r.group == group and r.version == version), key=lambda r: (r.resource, r.kind)
    )
    names = _Names(loaded)
    paths: dict[str, JSON] = {}
    for info in gv_resources:
        kind_ref = names.kind_schema(info)
        list_ref = names.list_schema(info, kind_ref)
        _add_resource_paths(paths, info, kind_ref, list_ref, names)

    generated = names.generated
    roots = set(ALWAYS_INCLUDED) | _refs_of(paths)
    for schema in generated.values():
        roots |= _refs_of(schema)
    schemas: dict[str, JSON] = dict(generated)
    for name in _builtin_closure(frozenset(n for n in roots if n not in generated)):
        schemas[name] = _builtin_component(name)[0]
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_SCHEMA_VERSION},
        "paths": {p: paths[p] for p in sorted(paths)},
        "components": {
            "schemas": {n: schemas[n] for n in sorted(schemas)},
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "name": "authorization",
                    "in": "header",
                    "description": "Bearer Token authentication",
                }
            },
        },
        "security": [{"BearerToken": []}],
    }


def document_json(doc: JSON) -> bytes:
    """Canonical bytes of a document: compact UTF-8 JSON with sorted keys.

    Serve exactly these bytes so that the `?hash=` in the index names what the client receives."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def document_hash(doc: JSON) -> str:
    """Stable hash of a document: SHA-512 of `document_json(doc)`, 128 uppercase hex digits.

    Upstream's apiserver uses the same shape (`%X` of SHA-512); clients treat it as opaque."""
    return hashlib.sha512(document_json(doc)).hexdigest().upper()


def openapi_index(docs_by_gv_path: dict[str, str]) -> JSON:
    """The `/openapi/v3` body for {gv_path: hash}.

    `serverRelativeURL` never carries a `/clusters/...` prefix: clients prepend the prefix of
    their server URL themselves (reference §0.9), so a prefixed URL would be doubled."""
    return {
        "paths": {
            path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={docs_by_gv_path[path]}"}
            for path in sorted(docs_by_gv_path)
        }
    }


@dataclass(frozen=True)
class RenderedDocument:
    """A document with its canonical bytes (`body`) and `hash` (= `document_hash(doc)`)."""

    doc: JSON
    body: bytes
    hash: str


def render_document(group: str, version: str, resources: list[ResourceInfo]) -> RenderedDocument:
    """`openapi_document` + `document_json` + `document_hash`, cached by the resources' content.

    Why: the index needs every GV's hash and thousands of logical clusters serve the same
    built-in (and often the same bound) APIs. The cache key is what the document depends on —
    names, scope, verbs, subresources, patch support and the schema of kinds without a built-in
    definition — so identical catalogues share one entry whatever their ResourceInfo identities.
    The cache is a bounded LRU; entries are read-only like `openapi_document`'s results."""
    gv_resources = [r for r in resources if r.group == group and r.version == version]
    loaded: dict[int, Schema | None] = {}
    key = (group, version, tuple(sorted(_signature(r, loaded) for r in gv_resources)))
    with _RENDER_LOCK:
        hit = _RENDER_CACHE.get(key)
        if hit is not None:
            _RENDER_CACHE.move_to_end(key)
            return hit
    doc = _build_document(group, version, gv_resources, loaded)
    body = document_json(doc)
    rendered = RenderedDocument(doc=doc, body=body, hash=hashlib.sha512(body).hexdigest().upper())
    with _RENDER_LOCK:
        _RENDER_CACHE[key] = rendered
        while len(_RENDER_CACHE) > _RENDER_CACHE_SIZE:
            _RENDER_CACHE.popitem(last=False)
    return rendered


_RENDER_CACHE_SIZE = 512
_RENDER_CACHE: OrderedDict[tuple[Any, ...], RenderedDocument] = OrderedDict()
_RENDER_LOCK = threading.Lock()


def _signature(info: ResourceInfo, loaded: dict[int, Schema | None]) -> tuple[Any, ...]:
    """Everything the document depends on for one resource (the render cache key part)."""
    schema_sig = b""
    if definition_name_for_gvk(info.group, info.version, info.kind) is None:
        schema = loaded[id(info)] = info.schema()
        schema_sig = orjson.dumps(schema.node, option=orjson.OPT_SORT_KEYS) if schema is not None else b"-"
    return (
        info.resource,
        info.kind,
        info.list_kind,
        info.namespaced,
        tuple(info.verbs),
        tuple(info.subresources),
        tuple(sorted((k, v[0], v[1], v[2], tuple(v[3])) for k, v in info.extra_subresources.items())),
        bool(info.strategy.allow_strategic_merge_patch),
        schema_sig,
    )


# --- schema conversion --------------------------------------------------------------------------


def to_openapi_schema(node: Any, known: Callable[[str], bool] | None = None, refs: set[str] | None = None) -> Any:
    """Convert one JSON-schema node (kubernetes-validate flavour) to OpenAPI 3.0, recursively.

    * `type` lists drop `"null"`; a single remaining type becomes a string. (Several non-null
      types have no OpenAPI 3.0 spelling; `type` is then dropped, which accepts any type.)
    * Local `$ref`s (`#/$defs/X`, `#/definitions/X`, `#/components/schemas/X`) become
      `#/components/schemas/X`; a `$ref` with sibling keys becomes `allOf: [{"$ref": ...}]` plus
      the siblings, the form upstream documents use and kubectl's SMP lookup understands.
    * A reference to a name `known` rejects becomes a schema accepting anything, so no `$ref`
      dangles. Referenced names are added to `refs` when given.
    * Everything else (description, format, enum, required, default, `x-kubernetes-*` …) is kept;
      nodes already in OpenAPI form pass through unchanged.
    """
    if isinstance(node, list):
        return [to_openapi_schema(x, known, refs) for x in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if len(types) == 1:
                out["type"] = types[0]
        elif key == "$ref" and isinstance(value, str):
            name = value.rsplit("/", 1)[-1]
            siblings = to_openapi_schema({k: v for k, v in node.items() if k != "$ref"}, known, refs)
            if known is not None and not known(name):
                return {**siblings, "x-kubernetes-preserve-unknown-fields": True}
            if refs is not None:
                refs.add(name)
            ref = {"$ref": SCHEMA_PREFIX + name}
            if not siblings:
                return ref
            # keep the reference where it stood, siblings around it
            out = {}
            for k in node:
                out["allOf" if k == "$ref" else k] = [ref] if k == "$ref" else siblings[k]
            return out
        elif key in ("properties", "patternProperties", "definitions", "$defs") and isinstance(value, dict):
            out[key] = {k: to_openapi_schema(v, known, refs) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "oneOf", "anyOf", "allOf"):
            out[key] = to_openapi_schema(value, known, refs)
        else:
            out[key] = value
    return out


@functools.cache
def _builtin_component(name: str) -> tuple[JSON, frozenset[str]]:
    """One built-in definition in OpenAPI form, plus the names it references directly.

    Converted lazily, once per process per name, and shared by every document (read-only)."""
    refs: set[str] = set()
    converted = to_openapi_schema(builtin_definitions()[name], known=_is_builtin, refs=refs)
    return converted, frozenset(refs)


def _is_builtin(name: str) -> bool:
    return name in builtin_definitions()


@functools.lru_cache(maxsize=1024)
def _builtin_closure(roots: frozenset[str]) -> tuple[str, ...]:
    """Sorted names of the built-in definitions reachable from `roots` (roots included)."""
    seen: set[str] = set()
    stack = [n for n in roots if _is_builtin(n)]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(r for r in _builtin_component(name)[1] if r not in seen)
    return tuple(sorted(seen))


def _refs_of(schema: Any) -> set[str]:
    """Names referenced by `$ref` anywhere in an (OpenAPI-form) schema."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.add(ref.rsplit("/", 1)[-1])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


# --- kinds without a built-in definition --------------------------------------------------------


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
        return _is_builtin(name) or name in extra_defs

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
    stack = [n for n in _refs_of(node) if not _is_builtin(n)]
    while stack:
        name = stack.pop()
        if name in into or name not in extra_defs:
            continue
        into[name] = to_openapi_schema(extra_defs[name], known=known)
        stack.extend(n for n in _refs_of(into[name]) if not _is_builtin(n))
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


class _Names:
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


# --- paths and operations -----------------------------------------------------------------------


def _param(name: str, typ: str, description: str) -> JSON:
    return {"name": name, "in": "query", "description": description, "schema": {"type": typ, "uniqueItems": True}}


_P = {
    "allowWatchBookmarks": _param(
        "allowWatchBookmarks", "boolean", 'allowWatchBookmarks requests watch events with type "BOOKMARK".'
    ),
    "continue": _param("continue", "string", "The continue token of a previous paginated list response."),
    "dryRun": _param(
        "dryRun",
        "string",
        "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run "
        "stages will be processed",
    ),
    "fieldManager": _param(
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes. It is required "
        "for apply requests (application/apply-patch).",
    ),
    "fieldSelector": _param("fieldSelector", "string", "A selector to restrict the returned objects by their fields."),
    "fieldValidation": _param(
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing "
        "unknown or duplicate fields. Valid values are: - Ignore - Warn (the default) - Strict: fail the request "
        "with a BadRequest error listing the unknown and duplicate fields.",
    ),
    "force": _param(
        "force",
        "boolean",
        'Force is going to "force" Apply requests: re-acquire conflicting fields owned by other managers. It must '
        "be unset for non-apply patch requests.",
    ),
    "gracePeriodSeconds": _param(
        "gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."
    ),
    "labelSelector": _param("labelSelector", "string", "A selector to restrict the returned objects by their labels."),
    "limit": _param("limit", "integer", "The maximum number of responses to return for a list call."),
    "propagationPolicy": _param(
        "propagationPolicy",
        "string",
        "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'.",
    ),
    "resourceVersion": _param(
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    "resourceVersionMatch": _param(
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    "sendInitialEvents": _param(
        "sendInitialEvents",
        "boolean",
        "With watch=true, begin the stream with synthetic events for the current state, ended by a bookmark "
        'annotated "k8s.io/initial-events-end".',
    ),
    "timeoutSeconds": _param("timeoutSeconds", "integer", "Timeout for the list/watch call."),
    "watch": _param("watch", "boolean", "Watch for changes to the described resources and return them as a stream."),
}

_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy")
_DELETE_COLLECTION_PARAMS = (
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
)

_PATH_NAME = {
    "name": "name",
    "in": "path",
    "description": "name of the object",
    "required": True,
    "schema": {"type": "string", "uniqueItems": True},
}
_PATH_NAMESPACE = {
    "name": "namespace",
    "in": "path",
    "description": "object name and auth scope, such as for teams and projects",
    "required": True,
    "schema": {"type": "string", "uniqueItems": True},
}
_UNAUTHORIZED = {"description": "Unauthorized"}


def _content(schema_name: str) -> JSON:
    return {"application/json": {"schema": {"$ref": SCHEMA_PREFIX + schema_name}}}


def _responses(schema_name: str, *codes: str) -> JSON:
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: JSON = {code: {"description": text[code], "content": _content(schema_name)} for code in codes}
    out["401"] = _UNAUTHORIZED
    return out


def _operation_id_prefix(group: str, version: str) -> tuple[str, str]:
    """(group+version part of operation ids, tag) the way upstream's apiserver derives them."""
    trimmed = group.removesuffix(".k8s.io") if group else "core"
    return _valid_id(trimmed, True) + _valid_id(
        version, True
    ), f"{_valid_id(trimmed, False)}_{_valid_id(version, False)}"


def _valid_id(s: str, capitalize_first: bool) -> str:
    """Upstream's ToValidOperationID: drop non-letters, capitalise the letter after each."""
    out: list[str] = []
    capitalize = capitalize_first
    for i, ch in enumerate(s):
        if ch.isalpha() or ch == "_" or (i and ch.isdigit()):
            out.append(ch.upper() if capitalize else ch)
            capitalize = False
        else:
            capitalize = True
    return "".join(out)


def _operation(
    *,
    op_id: str,
    tag: str,
    action: str,
    gvk: tuple[str, str, str],
    description: str,
    params: Iterable[str] = (),
    request: JSON | None = None,
    responses: JSON,
) -> JSON:
    op: JSON = {"tags": [tag], "description": description, "operationId": op_id}
    param_list = [_P[p] for p in params]
    if param_list:
        op["parameters"] = param_list
    if request is not None:
        op["requestBody"] = request
    op["responses"] = responses
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = {"group": gvk[0], "version": gvk[1], "kind": gvk[2]}
    return op


def _patch_body(allow_smp: bool) -> JSON:
    types = (*PATCH_TYPES_GENERIC, STRATEGIC_MERGE_PATCH) if allow_smp else PATCH_TYPES_GENERIC
    return {"content": {t: {"schema": {"$ref": SCHEMA_PREFIX + PATCH}} for t in sorted(types)}}


def _body(schema_name: str) -> JSON:
    return {"content": {"*/*": {"schema": {"$ref": SCHEMA_PREFIX + schema_name}}}, "required": True}


def _item_ops(
    verbs: Iterable[str],
    *,
    id_prefix: str,
    tag: str,
    id_suffix: str,
    gvk: tuple[str, str, str],
    schema_name: str,
    allow_smp: bool,
    what: str,
) -> JSON:
    """Operations on one object (or one subresource of it) for the given Kubernetes verbs."""
    ops: JSON = {}
    for verb in verbs:
        mapped = _ITEM_VERBS.get(verb)
        if mapped is None or mapped[0] in ops:
            continue
        method, id_verb, action = mapped
        params: tuple[str, ...] = ()
        request: JSON | None = None
        if method == "get":
            description, responses = f"read {what}", _responses(schema_name, "200")
        elif method == "put":
            description, responses = f"replace {what}", _responses(schema_name, "200", "201")
            params, request = _WRITE_PARAMS, _body(schema_name)
        elif method == "patch":
            description, responses = f"partially update {what}", _responses(schema_name, "200", "201")
            params, request = _PATCH_PARAMS, _patch_body(allow_smp)
        elif method == "delete":
            description, responses = f"delete {what}", _responses(STATUS, "200", "202")
            params, request = _DELETE_PARAMS, _body(DELETE_OPTIONS)
        else:  # post
            description, responses = f"create {what}", _responses(schema_name, "200", "201", "202")
            params, request = _WRITE_PARAMS, _body(schema_name)
        ops[method] = _operation(
            op_id=f"{id_verb}{id_prefix}{id_suffix}",
            tag=tag,
            action=action,
            gvk=gvk,
            description=description,
            params=params,
            request=request,
            responses=responses,
        )
    return {m: ops[m] for m in sorted(ops)}


def _add_resource_paths(
    paths: dict[str, JSON], info: ResourceInfo, kind_ref: str, list_ref: str, names: _Names
) -> None:
    """Add the collection, cluster-wide list, item and subresource paths of one resource."""
    root = f"/{gv_path(info.group, info.version)}"
    collection = f"{root}/namespaces/{{namespace}}/{info.resource}" if info.namespaced else f"{root}/{info.resource}"
    item = f"{collection}/{{name}}"
    scope_params = [_PATH_NAMESPACE] if info.namespaced else []
    id_prefix, tag = _operation_id_prefix(info.group, info.version)
    scoped_kind = ("Namespaced" if info.namespaced else "") + info.kind
    gvk = (info.group, info.version, info.kind)
    allow_smp = bool(info.strategy.allow_strategic_merge_patch)
    verbs = set(info.verbs)

    ops: JSON = {}
    if "list" in verbs:
        ops["get"] = _operation(
            op_id=f"list{id_prefix}{scoped_kind}",
            tag=tag,
            action="list",
            gvk=gvk,
            description=f"list or watch objects of kind {info.kind}",
            params=_LIST_PARAMS,
            responses=_responses(list_ref, "200"),
        )
    if "create" in verbs:
        ops["post"] = _operation(
            op_id=f"create{id_prefix}{scoped_kind}",
            tag=tag,
            action="post",
            gvk=gvk,
            description=f"create a {info.kind}",
            params=_WRITE_PARAMS,
            request=_body(kind_ref),
            responses=_responses(kind_ref, "200", "201", "202"),
        )
    if "deletecollection" in verbs:
        ops["delete"] = _operation(
            op_id=f"delete{id_prefix}Collection{scoped_kind}",
            tag=tag,
            action="deletecollection",
            gvk=gvk,
            description=f"delete collection of {info.kind}",
            params=_DELETE_COLLECTION_PARAMS,
            request=_body(DELETE_OPTIONS),
            responses=_responses(STATUS, "200"),
        )
    if ops:
        paths[collection] = {**{m: ops[m] for m in sorted(ops)}, **_path_params(scope_params)}

    if info.namespaced and "list" in verbs:
        paths[f"{root}/{info.resource}"] = {
            "get": _operation(
                op_id=f"list{id_prefix}{info.kind}ForAllNamespaces",
                tag=tag,
                action="list",
                gvk=gvk,
                description=f"list or watch objects of kind {info.kind}",
                params=_LIST_PARAMS,
                responses=_responses(list_ref, "200"),
            )
        }

    item_ops = _item_ops(
        sorted(verbs & {"get", "update", "patch", "delete"}),
        id_prefix=id_prefix,
        tag=tag,
        id_suffix=scoped_kind,
        gvk=gvk,
        schema_name=kind_ref,
        allow_smp=allow_smp,
        what=f"the specified {info.kind}",
    )
    if item_ops:
        paths[item] = {**item_ops, **_path_params([_PATH_NAME, *scope_params])}

    subresources: dict[str, tuple[tuple[str, ...], tuple[str, str, str] | None]] = {}
    for sub in info.subresources:
        subresources[sub] = _SUBRESOURCES.get(sub, (_DEFAULT_SUBRESOURCE_VERBS, None))
    for sub, (g, v, k, sub_verbs) in info.extra_subresources.items():
        subresources[sub] = (tuple(sub_verbs), (g, v, k))
    for sub in sorted(subresources):
        sub_verbs, sub_gvk = subresources[sub]
        if sub_gvk is None:
            sub_gvk, schema_name = gvk, kind_ref
        else:
            schema_name = names.other_kind(*sub_gvk)
        ops = _item_ops(
            sub_verbs,
            id_prefix=id_prefix,
            tag=tag,
            id_suffix=scoped_kind + _valid_id(sub, True),
            gvk=sub_gvk,
            schema_name=schema_name,
            allow_smp=allow_smp,
            what=f"{sub} of the specified {info.kind}",
        )
        if ops:
            paths[f"{item}/{sub}"] = {**ops, **_path_params([_PATH_NAME, *scope_params])}


def _path_params(params: list[JSON]) -> JSON:
    return {"parameters": params} if params else {}


# --- OpenAPI v2 --------------------------------------------------------------------------------------

OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#: what the answer is labelled: the Accept value is not a valid media type ('@'), and Go's
#: mime parser (client-go) rejects a response labelled with it.
OPENAPI_V2_PROTOBUF_RESPONSE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def openapi_v2(title: str, version: str) -> JSON:
    """`/openapi/v2`: a valid Swagger 2.0 document without definitions. The schemas live in
    OpenAPI v3 (every client we serve reads v3); kubectl still reads v2 to validate a `v1 List`
    client-side, where kinds without a definition are skipped and each item is validated by the
    server as it is created. Without any v2 such inputs fail with "failed to download openapi"."""
    return {"swagger": "2.0", "info": {"title": title, "version": version}, "paths": {}}


def openapi_v2_protobuf(title: str, version: str) -> bytes:
    """The same document in gnostic's openapi_v2.Document wire format (the only form kubectl
    accepts): swagger (1), info (2: title 1, version 2), paths (8, empty)."""

    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    info = field(1, title.encode()) + field(2, version.encode())
    return field(1, b"2.0") + field(2, info) + field(8, b"")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
