"""The custom-resource request pipeline on plain dicts: prune → default → validate (kube-clients.md §9).

Each function takes the served version's `openAPIV3Schema` (the raw dict from the CRD, or a `Schema`
wrapping it) and mirrors what the apiextensions-apiserver does with its structural schema:

* `prune(obj, schema)` drops every field the schema does not declare, except under
  `x-kubernetes-preserve-unknown-fields: true`, keeps `apiVersion`/`kind`/`metadata` at the root and at
  `x-kubernetes-embedded-resource` objects, and trims those `metadata` objects to ObjectMeta's fields (the
  apiserver round-trips them through ObjectMeta). It returns a new object and the paths it removed, in the
  apiserver's order and spelling, for `fieldValidation=Strict` (`unknown field "spec.foo"`) and `Warn`.
* `apply_defaults(obj, schema)` drops `null`s the schema does not allow (when there is no default) and fills
  absent or disallowed-`null` fields from `default:` (deep copies), through properties, additionalProperties and
  array items; never inside the root `metadata`. It mutates `obj` and returns it.
* `validate(obj, schema)` is kube-openapi's OpenAPI v3 validation plus the embedded-resource ObjectMeta checks
  and the `x-kubernetes-list-type` set/map uniqueness checks, with every error turned into a Status cause
  worded as the apiserver words it (`spec.size: Invalid value: -1: spec.size in body should be greater than or
  equal to 0`). Root `metadata` is validated only against the schema's `name`/`generateName` restrictions: the
  caller validates ObjectMeta itself. CEL rules (`x-kubernetes-validations`) are not evaluated.

Why not `jsonschema`: kube-openapi's semantics differ from JSON Schema's in ways the wording depends on (it
runs every validator whatever the type, infers the JSON type of numbers the Go way, reports anyOf/oneOf with the
best-matching branch's errors, strips unsupported formats, Go's regexp syntax), and a compiled tree of plain
Python objects validates a typical object in tens of microseconds, faster than `jsonschema` builds its error
iterator. The compiled form is cached per schema, keyed by the schema's canonical JSON in a bounded LRU, so the
many logical clusters that install the same CRD share one compiled schema; a second, identity-keyed LRU in front
of it skips the JSON encoding for the schema objects a server keeps around.

Contract: schemas handed in are not mutated afterwards (they are cached by identity). No function raises for
any JSON-shaped input, however malformed the schema or the object: wrong types, deep nesting and huge numbers
become causes, or are left alone where the apiserver leaves them alone. Nesting deeper than `MAX_DEPTH`
schema levels is neither pruned, defaulted nor validated (`crd.validate_structural` rejects such schemas).

Layout (dependencies point down this list, never up; each module's docstring states its own contract):

* `limits`: `MAX_DEPTH`, the int64 bounds and the `Obj` alias every stage shares.
* `patterns`: Go regexp (RE2) syntax on Python's `re`, with a linear-time NFA for risky patterns.
* `compiled`: the compiled `_Node` tree and its two LRU caches (uses `patterns`).
* `paths`: the iterative deep copy and the two spellings of a field path.
* `pruning`: `prune` (uses `compiled`, `paths`).
* `defaulting`: `apply_defaults` (uses `compiled`, `paths`).
* `govalues`: the Go value model and Go-style rendering of values.
* `formats`: kube-openapi's string format checks.
* `validation`: kube-openapi's SchemaValidator and the error wording (uses `compiled`, `govalues`, `formats`).
* `embedded`: embedded-resource ObjectMeta checks, list-type invariants, `is_dns1035_label`.
* `entrypoints`: `validate`, `openapi_errors`, `embedded_resource_errors`, `unknown_fields`.

This package only re-exports: the names below are the very objects the modules define (no wrappers), so
callers of `customresource.validate` pay nothing for the split. The private names re-exported with `as` are
the ones the tests inspect (caches, the pattern translator and the NFA).
"""

from .compiled import _BY_CONTENT as _BY_CONTENT
from .compiled import _BY_ID as _BY_ID
from .compiled import CACHE_SIZE as CACHE_SIZE
from .compiled import _compiled as _compiled
from .compiled import clear_cache
from .defaulting import apply_defaults
from .embedded import is_dns1035_label
from .entrypoints import embedded_resource_errors, openapi_errors, unknown_fields, validate
from .limits import MAX_DEPTH
from .patterns import _NFA as _NFA
from .patterns import _translate_go_regexp as _translate_go_regexp
from .patterns import compile_pattern
from .pruning import OBJECT_META_FIELDS, prune

__all__ = [
    "MAX_DEPTH",
    "OBJECT_META_FIELDS",
    "apply_defaults",
    "clear_cache",
    "compile_pattern",
    "embedded_resource_errors",
    "is_dns1035_label",
    "openapi_errors",
    "prune",
    "unknown_fields",
    "validate",
]
