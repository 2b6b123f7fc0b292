"""Object schemas: the built-in Kubernetes definitions shipped by `kubernetes-validate`
(with their `x-kubernetes-*` list/map/patch markers) and, later, CRD structural schemas,
behind one `Schema` interface used by patching, apply, validation and OpenAPI."""

from .core import Schema, builtin_definitions, prune_unknown, schema_for_gvk, type_errors, unknown_fields

__all__ = ["Schema", "builtin_definitions", "prune_unknown", "schema_for_gvk", "type_errors", "unknown_fields"]
