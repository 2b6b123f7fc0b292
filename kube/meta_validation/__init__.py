"""ObjectMeta validation in the apiserver's words (kube-clients.md §7).

Every function returns a `kube.errors.FieldErrors`; none raises, whatever the input, because metadata comes
straight from request bodies and a malformed body must become a 422 listing its problems, not a 500. Wrong
JSON types (labels that are a list, a name that is a number) are reported as `FieldValueTypeInvalid` causes.

The rules and the wording follow k8s.io/apimachinery v0.35 (`pkg/util/validation`, `pkg/api/validate/content`,
`pkg/api/validation/objectmeta.go`) plus the finalizer rule that kubernetes' core validation adds for built-in
kinds. Two rendering details are deliberately Go's rather than `FieldErrors.invalid`'s:

* bad values are quoted like Go's `%q` (escapes for quotes, control characters...) and non-strings are
  rendered as Go's `json.Marshal` would, so messages match the real server's byte for byte;
* the annotation size error says `Too long: may not be more than 262144 bytes`, apimachinery's current
  wording, where `FieldErrors.too_long` still has the pre-1.30 `must have at most`.

Messages say "bytes" or "characters" exactly where upstream does: the DNS name checks of
`pkg/util/validation` say characters, the label key/value checks of `pkg/api/validate/content` say bytes.
Lengths are measured in UTF-8 bytes in both cases, as Go's `len` does.

Layout (dependencies point down this list): `object_meta` (the whole ObjectMeta, create and update) uses
`fields` (one field each: name, labels, annotations, finalizers, ownerReferences), which uses `rendering`
(Go's `%q` and `json.Marshal` renderings, the cause helpers) and `formats` (DNS names, qualified names, label
values). This package only re-exports: the names below are the very objects the modules define.
"""

from .fields import (
    FIELD_IMMUTABLE,
    STANDARD_FINALIZERS,
    TOTAL_ANNOTATION_SIZE_LIMIT,
    finalizer_warnings,
    validate_annotations,
    validate_finalizers,
    validate_generate_name,
    validate_labels,
    validate_name,
    validate_owner_references,
    validate_path_segment_name,
)
from .formats import is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name
from .object_meta import restore_system_fields, validate_object_meta, validate_object_meta_update
from .rendering import go_quote, render_bad_value

__all__ = [
    "FIELD_IMMUTABLE",
    "STANDARD_FINALIZERS",
    "TOTAL_ANNOTATION_SIZE_LIMIT",
    "finalizer_warnings",
    "go_quote",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_label_value",
    "is_qualified_name",
    "render_bad_value",
    "restore_system_fields",
    "validate_annotations",
    "validate_finalizers",
    "validate_generate_name",
    "validate_labels",
    "validate_name",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_owner_references",
    "validate_path_segment_name",
]
