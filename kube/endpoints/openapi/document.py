"""Whole documents: build one per group/version, its canonical bytes and hash, the ``/openapi/v3``
index, and the content-keyed render cache the request path uses.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from kube.schema.core import KUBERNETES_SCHEMA_VERSION, definition_name_for_gvk

from .kinds import Names
from .paths import add_resource_paths
from .schemas import ALWAYS_INCLUDED, JSON, builtin_closure, builtin_component, refs_of

if TYPE_CHECKING:
    from kube.registry.resources import ResourceInfo
    from kube.schema import Schema

__all__ = ["RenderedDocument", "document_hash", "document_json", "openapi_document", "openapi_index", "render_document"]


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
    names = Names(loaded)
    paths: dict[str, JSON] = {}
    for info in gv_resources:
        kind_ref = names.kind_schema(info)
        list_ref = names.list_schema(info, kind_ref)
        add_resource_paths(paths, info, kind_ref, list_ref, names)

    generated = names.generated
    roots = set(ALWAYS_INCLUDED) | refs_of(paths)
    for schema in generated.values():
        roots |= refs_of(schema)
    schemas: dict[str, JSON] = dict(generated)
    for name in builtin_closure(frozenset(n for n in roots if n not in generated)):
        schemas[name] = builtin_component(name)[0]
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
