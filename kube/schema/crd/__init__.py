"""apiextensions.k8s.io/v1 CustomResourceDefinition defaulting and validation (kube-clients.md §9).

Rules and wording follow the apiextensions-apiserver (`pkg/apis/apiextensions/v1/defaults.go`,
`pkg/apis/apiextensions/validation/validation.go`, `pkg/apiserver/schema/validation.go` and `complete.go`,
`pkg/apiserver/schema/defaulting/validation.go`), rule by rule, on the v1 JSON form:

* `default_crd(crd)` fills what v1 defaulting fills: `names.singular`, `names.listKind`, `conversion`,
  a webhook service's port, and `status.storedVersions`. Printer columns get no `priority` default upstream
  (it is `omitempty`), so none here.
* `validate_crd(crd)` returns every problem as a `FieldErrors` (422 causes). Paths are v1 paths
  (`spec.versions[0].schema.openAPIV3Schema.properties[spec].type`). The real apiserver validates the
  internal form, into which v1 converts versions whose schemas (subresources, columns) are all identical as
  one top-level `spec.validation` (`spec.subresources`, `spec.additionalPrinterColumns`); pass
  `upstream_paths=True` to get those paths, byte for byte what kubectl shows.
* `validate_crd_update(new, old)` adds the update-only rules (immutable group, plural, scope; kind once the
  CRD is Established). The caller also runs `validate_crd(new)`.
* `validate_structural(schema, path)` is the whole per-schema check: unsupported keywords, structural
  invariants, completeness, defaults (pruned, valid against their schema) and the OpenAPI keyword rules
  (list/map types, list-map keys, validation rules' static checks).

Nothing here raises for any JSON input: wrong types are reported (or, where the apiserver's decoder would
have refused the body, skipped over) instead. Deliberate departures from upstream, all small:
`conversion.strategy: Webhook` is rejected as unsupported (this server has no webhook conversion); CEL
rules are not compiled; `selectableFields` are not checked; printer-column and scale paths must also
parse as JSONPath (upstream only checks the leading dot, then fails at serving time).

Layout (dependencies point down this list, never up):

* `defaulting`: `default_crd`.
* `validation`: `validate_crd` (uses `spec_fields`, `structural`).
* `spec_fields`: the checks of the spec's parts (deprecation, names, printer columns, subresources,
  conversion, the api-approved annotation).
* `update`: `validate_crd_update`.
* `structural`: `validate_structural` and the schema walkers (uses `invariants`, `schema_defaults`, `openapi`).
* `openapi`: the OpenAPI keyword rules (uses `invariants`).
* `invariants`: structural invariants and completeness.
* `schema_defaults`: defaults in a schema.
* `common`: the enumerations, field tables and cause helpers all of them share.

This package only re-exports: the names below are the very objects the modules define.
"""

from ..customresource import MAX_DEPTH
from .common import (
    API_APPROVAL_ANNOTATION,
    OPENAPI_V3_TYPES,
    PRINTER_COLUMN_FORMATS,
    PRINTER_COLUMN_TYPES,
    VALIDATION_RULE_REASONS,
    Obj,
)
from .defaulting import default_crd
from .structural import validate_structural
from .update import validate_crd_update
from .validation import validate_crd

__all__ = [
    "API_APPROVAL_ANNOTATION",
    "MAX_DEPTH",
    "OPENAPI_V3_TYPES",
    "Obj",
    "PRINTER_COLUMN_FORMATS",
    "PRINTER_COLUMN_TYPES",
    "VALIDATION_RULE_REASONS",
    "default_crd",
    "validate_crd",
    "validate_crd_update",
    "validate_structural",
]
