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

The package follows the sections of the document: ``document`` (whole documents, index, render
cache), ``schemas`` (JSON schema -> OpenAPI conversion of built-in definitions), ``kinds`` (components
of kinds without a built-in definition), ``paths`` (operations), ``v2`` (``/openapi/v2``).
"""

from __future__ import annotations

from .document import (
    RenderedDocument,
    document_hash,
    document_json,
    openapi_document,
    openapi_index,
    render_document,
)
from .kinds import generated_schema_name
from .paths import gv_path
from .schemas import ALWAYS_INCLUDED, to_openapi_schema
from .v2 import OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_RESPONSE, openapi_v2, openapi_v2_protobuf

__all__ = [
    "ALWAYS_INCLUDED",
    "OPENAPI_V2_PROTOBUF",
    "OPENAPI_V2_PROTOBUF_RESPONSE",
    "RenderedDocument",
    "document_hash",
    "document_json",
    "generated_schema_name",
    "gv_path",
    "openapi_document",
    "openapi_index",
    "render_document",
    "to_openapi_schema",
    "openapi_v2",
    "openapi_v2_protobuf",
]
