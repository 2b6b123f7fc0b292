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
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kube.errors import Cause, FieldErrors
from kube.timefmt import format_rfc3339, parse_rfc3339

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
]

FIELD_IMMUTABLE = "field is immutable"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
#: Finalizers built-in kinds accept without a `/` (kubernetes `helper.IsStandardFinalizerName`).
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})

# --- string format checks (pkg/util/validation, pkg/api/validate/content) ----------------------------------

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character"
)
_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_RE = re.compile(_LABEL_KEY_FMT)
_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT = "(" + _LABEL_KEY_FMT + ")?"
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character"
)
_DNS1123_LABEL_MAX = 63
_DNS1123_SUBDOMAIN_MAX = 253
_LABEL_NAME_MAX = 63
_LABEL_VALUE_MAX = 63


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # Upstream joins the examples as "'a', " + " or " + "'b', ", hence the double space before "or".
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    quoted = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {quoted}regex used for validation is '{fmt}')"


def _byte_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def is_dns1123_label(value: str) -> list[str]:
    """Problems with `value` as an RFC 1123 label (namespace names, and the names of a few other kinds)."""
    errs: list[str] = []
    if _byte_len(value) > _DNS1123_LABEL_MAX:
        errs.append(f"must be no more than {_DNS1123_LABEL_MAX} characters")
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str, *, unit: str = "characters") -> list[str]:
    """Problems with `value` as an RFC 1123 subdomain (most object names, label key prefixes).

    `unit` exists because upstream has two copies of this check that differ only in the length message:
    object names say "characters", label-key prefixes say "bytes".
    """
    errs: list[str] = []
    if _byte_len(value) > _DNS1123_SUBDOMAIN_MAX:
        errs.append(f"must be no more than {_DNS1123_SUBDOMAIN_MAX} {unit}")
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """Problems with `value` as a qualified name: label and annotation keys, finalizers.

    `[prefix/]name` where the optional prefix is a DNS subdomain and the name is at most 63 bytes of
    `[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]`.
    """
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix, unit="bytes"))
    else:
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _byte_len(name) > _LABEL_NAME_MAX:
        errs.append(f"name part must be no more than {_LABEL_NAME_MAX} bytes")
    if not _LABEL_KEY_RE.fullmatch(name):
        errs.append("name part " + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_label_value(value: str) -> list[str]:
    """Problems with `value` as a label value: empty, or at most 63 bytes of the label-name alphabet."""
    errs: list[str] = []
    if _byte_len(value) > _LABEL_VALUE_MAX:
        errs.append(f"must be no more than {_LABEL_VALUE_MAX} bytes")
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


# --- rendering bad values like Go's field.Error -----------------------------------------------------------

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def go_quote(s: str) -> str:
    """`s` as Go's `%q` prints it: double quotes, backslash escapes, printable Unicode kept as is."""
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x20 or cp == 0x7F:
                out.append(f"\\x{cp:02x}")
            elif 0xD800 <= cp <= 0xDFFF:  # a lone surrogate decodes to U+FFFD in Go
                out.append("\ufffd")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _go_json(value: Any, *, sort_keys: bool = True) -> str:
    """`json.Marshal` output: compact, map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.

    `sort_keys=False` keeps dict order, for values that stand for Go structs (fields in declaration order).
    """
    if _nested_deeper_than(value, 64):  # not worth printing, and Python versions differ on how deep json goes
        return f'"<{type(value).__name__}>"'
    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):  # not JSON, or nested beyond what is worth printing
        return f'"<{type(value).__name__}>"'
    text = _LONE_SURROGATE.sub(r"\\ufffd", text)  # Go replaces invalid UTF-16 with U+FFFD
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_bad_value(value: Any) -> str:
    """A bad value as `field.Error.ErrorBody` renders it: `%q` for strings, plain for numbers and booleans,
    JSON for everything else (so None is `null` and lists are `["a","b"]`)."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    return _go_json(value)


def _go_float(f: float) -> str:
    """Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits, exponent form when
    the exponent is below -4 or at least 6 (`1e+06`, `123456`, `1.5e-05`)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits))
    dp = len(ds) + exponent  # position of the decimal point relative to the digit string
    exp = dp - 1
    if exp < -4 or exp >= 6:
        mantissa = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        text = f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    elif dp <= 0:
        text = "0." + "0" * -dp + ds
    elif dp >= len(ds):
        text = ds + "0" * (dp - len(ds))
    else:
        text = ds[:dp] + "." + ds[dp:]
    return ("-" if sign else "") + text


def _invalid(errs: FieldErrors, path: str, value: Any, detail: str, *, rendered: str | None = None) -> None:
    shown = render_bad_value(value) if rendered is None else rendered
    errs.causes.append(Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path))


def _type_invalid(errs: FieldErrors, path: str, value: Any, type_name: str) -> None:
    errs.causes.append(
        Cause("FieldValueTypeInvalid", f"Invalid value: {render_bad_value(value)}: must be of type {type_name}", path)
    )


def _too_long(errs: FieldErrors, path: str, limit: int) -> None:
    errs.causes.append(Cause("FieldValueTooLong", f"Too long: may not be more than {limit} bytes", path))


def _go_string_slice(items: list[str]) -> str:
    """Go's `%#v` of a `[]string`, as in the no-new-finalizers message."""
    return "[]string{" + ", ".join(go_quote(s) for s in items) + "}"


def _go_lower(s: str) -> str:
    # Go lower-cases rune by rune; Python maps U+0130 to two code points, Go to plain 'i'.
    return "".join(ch.lower()[:1] for ch in s)


# --- single fields ---------------------------------------------------------------------------------------


def _mask_trailing_dash(name: str) -> str:
    # Upstream's maskTrailingDash drops the last *two* characters before appending "a"; the result is only
    # ever validated, never stored, so the quirk only matters for which messages appear. Kept for parity.
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def _name_messages(name: str, *, label: bool, prefix: bool) -> list[str]:
    if prefix:
        name = _mask_trailing_dash(name)
    return is_dns1123_label(name) if label else is_dns1123_subdomain(name)


def validate_path_segment_name(name: str, *, path: str = "metadata.name") -> FieldErrors:
    """apimachinery's ValidatePathSegmentName (RBAC objects): anything a URL path segment can hold,
    so `system:kcp:workspace:access` is a valid ClusterRole name. Unlike upstream (etcd keys have
    no length limit) at most 253 characters, the length of the name column every object is stored in."""
    errs = FieldErrors()
    if len(name) > 253:
        errs.invalid(path, name, "must be no more than 253 characters")
    if name in (".", ".."):
        errs.invalid(path, name, f"may not be '{name}'")
    for bad in ("/", "%"):
        if bad in name:
            errs.invalid(path, name, f"may not contain '{bad}'")
    return errs


def validate_name(name: Any, *, label: bool = False, path: str = "metadata.name") -> FieldErrors:
    """Check an object name: a DNS-1123 subdomain (≤253), or with `label=True` a DNS-1123 label (≤63, no dots),
    which namespaces use. Each broken rule is its own cause, as upstream reports them.

    An empty name is not an error here: whether a name is required depends on generateName, which
    `validate_object_meta` decides.
    """
    errs = FieldErrors()
    if name is None or name == "":
        return errs
    if not isinstance(name, str):
        _type_invalid(errs, path, name, "string")
        return errs
    for msg in _name_messages(name, label=label, prefix=False):
        _invalid(errs, path, name, msg)
    return errs


def validate_generate_name(
    generate_name: Any, *, label: bool = False, path: str = "metadata.generateName"
) -> FieldErrors:
    """Check a generateName prefix with the name rule, allowing the trailing `-` a prefix usually has
    (random characters will follow it)."""
    errs = FieldErrors()
    if generate_name is None or generate_name == "":
        return errs
    if not isinstance(generate_name, str):
        _type_invalid(errs, path, generate_name, "string")
        return errs
    for msg in _name_messages(generate_name, label=label, prefix=True):
        _invalid(errs, path, generate_name, msg)
    return errs


def validate_labels(labels: Any, path: str = "metadata.labels") -> FieldErrors:
    """Keys must be qualified names and values valid label values. None means no labels.

    Errors carry the map's path (not `path[key]`), like upstream, with the offending key or value as the
    bad value. A non-string value is a type error at `path[key]`.
    """
    errs = FieldErrors()
    if labels is None:
        return errs
    if not isinstance(labels, Mapping):
        _type_invalid(errs, path, labels, "object")
        return errs
    for key, value in labels.items():
        if not isinstance(key, str):
            _type_invalid(errs, path, key, "string")
            continue
        for msg in is_qualified_name(key):
            _invalid(errs, path, key, msg)
        if not isinstance(value, str):
            _type_invalid(errs, f"{path}[{key}]", value, "string")
            continue
        for msg in is_label_value(value):
            _invalid(errs, path, value, msg)
    return errs


def validate_annotations(annotations: Any, path: str = "metadata.annotations") -> FieldErrors:
    """Keys must be qualified names, compared case-insensitively (upstream lower-cases before checking);
    values are free-form. Keys plus values must total at most 256 KiB (262144 bytes) — kubectl's
    last-applied-configuration counts against this."""
    errs = FieldErrors()
    if annotations is None:
        return errs
    if not isinstance(annotations, Mapping):
        _type_invalid(errs, path, annotations, "object")
        return errs
    total = 0
    for key, value in annotations.items():
        if not isinstance(key, str):
            _type_invalid(errs, path, key, "string")
            continue
        for msg in is_qualified_name(_go_lower(key)):
            _invalid(errs, path, key, msg)
        total += _byte_len(key)
        if not isinstance(value, str):
            _type_invalid(errs, f"{path}[{key}]", value, "string")
            continue
        total += _byte_len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        _too_long(errs, path, TOTAL_ANNOTATION_SIZE_LIMIT)
    return errs


def _string_list(errs: FieldErrors, value: Any, path: str) -> list[str] | None:
    """The strings of a JSON array, with type errors recorded; None if `value` is not a list at all."""
    if not isinstance(value, list):
        _type_invalid(errs, path, value, "array")
        return None
    out: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(item)
        else:
            _type_invalid(errs, f"{path}[{i}]", item, "string")
    return out


def validate_finalizers(finalizers: Any, path: str = "metadata.finalizers", *, qualified: bool = True) -> FieldErrors:
    """Finalizers must be qualified names, and `orphan` and `foregroundDeletion` exclude each other.

    `qualified=True` (built-in kinds) adds kubernetes' core rule: a finalizer without a `/` must be one of
    `STANDARD_FINALIZERS`, else `path[i]: ... name is neither a standard finalizer name nor is it fully
    qualified`. Custom resources pass `qualified=False`; upstream only warns for them (`finalizer_warnings`).
    """
    errs = FieldErrors()
    if finalizers is None:
        return errs
    names = _string_list(errs, finalizers, path)
    if names is None:
        return errs
    for name in names:
        for msg in is_qualified_name(name):
            _invalid(errs, path, name, msg)
    if "orphan" in names and "foregroundDeletion" in names:
        _invalid(errs, path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set")
    if qualified:
        for i, item in enumerate(finalizers):
            if isinstance(item, str) and "/" not in item and item not in STANDARD_FINALIZERS:
                _invalid(
                    errs, f"{path}[{i}]", item, "name is neither a standard finalizer name nor is it fully qualified"
                )
    return errs


def finalizer_warnings(finalizers: Any, path: str = "metadata.finalizers") -> list[str]:
    """Warning headers the apiserver sends when a custom resource carries a finalizer without a `/` (other
    than the standard ones); each is `path: "name": prefer a domain-qualified finalizer name ...`."""
    if not isinstance(finalizers, list):
        return []
    return [
        f"{path}: {go_quote(f)}: prefer a domain-qualified finalizer name including a path (/) to avoid accidental "
        "conflicts with other finalizer writers"
        for f in finalizers
        if isinstance(f, str) and "/" not in f and f not in STANDARD_FINALIZERS
    ]


def validate_owner_references(refs: Any, path: str = "metadata.ownerReferences") -> FieldErrors:
    """Each reference needs apiVersion (with a version), kind, name and uid; Events cannot be owners; at
    most one reference may have `controller: true`.

    Upstream reports per-reference errors at `path.apiVersion` etc. without an index; so does this.
    """
    errs = FieldErrors()
    if refs is None:
        return errs
    if not isinstance(refs, list):
        _type_invalid(errs, path, refs, "array")
        return errs
    first_controller = ""
    for i, ref in enumerate(refs):
        if not isinstance(ref, Mapping):
            _type_invalid(errs, f"{path}[{i}]", ref, "object")
            continue
        fields: dict[str, str] = {}
        ok = True
        for name in ("apiVersion", "kind", "name", "uid"):
            value = ref.get(name)
            if value is None:
                value = ""
            if not isinstance(value, str):
                _type_invalid(errs, f"{path}[{i}].{name}", value, "string")
                ok = False
            else:
                fields[name] = value
        for name in ("controller", "blockOwnerDeletion"):
            value = ref.get(name)
            if value is not None and not isinstance(value, bool):
                _type_invalid(errs, f"{path}[{i}].{name}", value, "boolean")
                ok = False
        if not ok:
            continue
        group, version = _parse_group_version(fields["apiVersion"])
        if not version:
            _invalid(errs, f"{path}.apiVersion", fields["apiVersion"], "version must not be empty")
        if not fields["kind"]:
            _invalid(errs, f"{path}.kind", fields["kind"], "must not be empty")
        if not fields["name"]:
            _invalid(errs, f"{path}.name", fields["name"], "must not be empty")
        if not fields["uid"]:
            _invalid(errs, f"{path}.uid", fields["uid"], "must not be empty")
        if (group, version, fields["kind"]) == ("", "v1", "Event"):
            _invalid(
                errs,
                path,
                ref,
                "/v1, Kind=Event is disallowed from being an owner",
                rendered=_go_json(_owner_reference_struct(ref), sort_keys=False),
            )
        if ref.get("controller") is True:
            current = f"{fields['kind']}/{fields['name']}"
            if first_controller:
                structs = [_owner_reference_struct(r) if isinstance(r, Mapping) else r for r in refs]
                _invalid(
                    errs,
                    path,
                    refs,
                    'Only one reference can have Controller set to true. Found "true" in references for '
                    f"{first_controller} and {current}",
                    rendered=_go_json(structs, sort_keys=False),
                )
            else:
                first_controller = current
    return errs


def _owner_reference_struct(ref: Mapping[str, Any]) -> dict[str, Any]:
    """An owner reference as Go's `metav1.OwnerReference` marshals: declared fields only, in declaration
    order, the two booleans omitted when unset."""
    out: dict[str, Any] = {name: ref.get(name) or "" for name in ("apiVersion", "kind", "name", "uid")}
    for name in ("controller", "blockOwnerDeletion"):
        if ref.get(name) is not None:
            out[name] = ref[name]
    return out


def _parse_group_version(api_version: str) -> tuple[str, str]:
    """(group, version) as `schema.FromAPIVersionAndKind` sees it; unparseable means no version."""
    if api_version in ("", "/"):
        return "", ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", ""


# --- whole ObjectMeta ------------------------------------------------------------------------------------


def _optional_string(errs: FieldErrors, meta: Mapping[str, Any], key: str, path: str) -> tuple[str, bool]:
    """`meta[key]` as a string ("" when absent or null) and whether it had an acceptable type; a type error
    is recorded, so callers skip follow-up errors such as "required" for the same field."""
    value = meta.get(key)
    if value is None:
        return "", True
    if not isinstance(value, str):
        _type_invalid(errs, f"{path}.{key}", value, "string")
        return "", False
    return value, True


def _check_timestamp(errs: FieldErrors, meta: Mapping[str, Any], key: str, path: str) -> None:
    value = meta.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        _type_invalid(errs, f"{path}.{key}", value, "string")
        return
    try:
        parse_rfc3339(value)
    except ValueError:
        _invalid(errs, f"{path}.{key}", value, "must be an RFC 3339 date-time (e.g. '2006-01-02T15:04:05Z')")


def _check_int(errs: FieldErrors, meta: Mapping[str, Any], key: str, path: str) -> int | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _type_invalid(errs, f"{path}.{key}", value, "integer")
        return None
    return value


def _validate_meta_content(
    errs: FieldErrors, meta: Mapping[str, Any], path: str, *, qualified_finalizers: bool
) -> None:
    """The checks create and update share, in upstream's order."""
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), f"{path}.finalizers", qualified=qualified_finalizers))
    managed = meta.get("managedFields")
    if managed is not None and not isinstance(managed, list):
        _type_invalid(errs, f"{path}.managedFields", managed, "array")
    for key in ("resourceVersion", "uid", "selfLink"):
        _optional_string(errs, meta, key, path)
    for key in ("creationTimestamp", "deletionTimestamp"):
        _check_timestamp(errs, meta, key, path)
    _check_int(errs, meta, "deletionGracePeriodSeconds", path)


def validate_object_meta(
    meta: Any,
    *,
    namespaced: bool,
    name_is_label: bool = False,
    qualified_finalizers: bool = True,
    path: str = "metadata",
    name_is_path_segment: bool = False,
) -> FieldErrors:
    """Validate metadata for a create.

    * `name` or `generateName` must be set (`Required value: name or generateName is required`). This may run
      before or after the name is generated: a generateName alone satisfies it, and is itself checked as a
      prefix of the name rule.
    * `namespace` is required iff `namespaced` and must be a DNS label; a cluster-scoped object must not carry
      one (`Forbidden: not allowed on this type`) — upstream clears it from the request first, so callers
      should too, and this only catches what slipped through.
    * `name_is_label` selects the DNS-label name rule (namespaces); otherwise DNS subdomain.
    * `qualified_finalizers`: see `validate_finalizers`; pass False for custom resources.
    * labels, annotations, ownerReferences, finalizers, generation (≥ 0), and JSON types of the rest.
    """
    errs = FieldErrors()
    if not isinstance(meta, Mapping):
        _type_invalid(errs, path, meta, "object")
        return errs
    generate_name, generate_name_ok = _optional_string(errs, meta, "generateName", path)
    name, name_ok = _optional_string(errs, meta, "name", path)
    if generate_name:
        errs.extend(validate_generate_name(generate_name, label=name_is_label, path=f"{path}.generateName"))
    if name and name_is_path_segment:
        errs.extend(validate_path_segment_name(name, path=f"{path}.name"))
    elif name:
        errs.extend(validate_name(name, label=name_is_label, path=f"{path}.name"))
    elif name_ok and not generate_name and generate_name_ok:
        errs.required(f"{path}.name", "name or generateName is required")
    namespace, namespace_ok = _optional_string(errs, meta, "namespace", path)
    if namespaced:
        if namespace:
            errs.extend(validate_name(namespace, label=True, path=f"{path}.namespace"))
        elif namespace_ok:
            errs.required(f"{path}.namespace")
    elif namespace:
        errs.forbidden(f"{path}.namespace", "not allowed on this type")
    generation = _check_int(errs, meta, "generation", path)
    if generation is not None and generation < 0:
        _invalid(errs, f"{path}.generation", generation, "must be greater than or equal to 0")
    _validate_meta_content(errs, meta, path, qualified_finalizers=qualified_finalizers)
    return errs


def _same_instant(a: str, b: str) -> bool:
    try:
        return parse_rfc3339(a).replace(microsecond=0) == parse_rfc3339(b).replace(microsecond=0)
    except ValueError:
        return a == b


def _timestamp_value(value: Any) -> Any:
    """A timestamp as upstream renders a metav1.Time in errors: normalised to the wire form when parseable."""
    if isinstance(value, str):
        try:
            return format_rfc3339(parse_rfc3339(value))
        except ValueError:
            return value
    return value


def validate_object_meta_update(
    new_meta: Any,
    old_meta: Any,
    *,
    qualified_finalizers: bool = True,
    require_resource_version: bool = False,
    path: str = "metadata",
) -> FieldErrors:
    """Validate metadata for an update of the stored object whose metadata is `old_meta`.

    * name and namespace are immutable (`Invalid value: "<new>": field is immutable`).
    * uid, creationTimestamp and deletionGracePeriodSeconds are immutable too, but *absent* counts as
      unchanged: clients replace objects from manifests that lack them, and upstream copies them over from
      the stored object before validating (`restore_system_fields` does the same). Timestamps are compared as
      instants, at seconds precision, so `+00:00` and fractional echoes are not changes.
    * deletionTimestamp cannot be set by an update, nor changed or removed once set.
    * while the object is being deleted, no finalizer may be added (`Forbidden: no new finalizers can be added
      if the object is being deleted, found new finalizers []string{"x"}`).
    * generation must not decrease; with `require_resource_version`, resourceVersion must be present
      (upstream's rule for custom resources; built-ins allow unconditional updates).
    * labels, annotations, ownerReferences and finalizers of the new metadata are validated as on create.
    """
    errs = FieldErrors()
    if not isinstance(new_meta, Mapping):
        _type_invalid(errs, path, new_meta, "object")
        return errs
    old: Mapping[str, Any] = old_meta if isinstance(old_meta, Mapping) else {}

    old_deletion = old.get("deletionTimestamp")
    new_finalizers = new_meta.get("finalizers")
    if old_deletion and isinstance(new_finalizers, list):
        old_finalizers = old.get("finalizers")
        old_set = {f for f in old_finalizers if isinstance(f, str)} if isinstance(old_finalizers, list) else set()
        extra = sorted({f for f in new_finalizers if isinstance(f, str)} - old_set)
        if extra:
            errs.forbidden(
                f"{path}.finalizers",
                "no new finalizers can be added if the object is being deleted, found new finalizers "
                + _go_string_slice(extra),
            )

    if require_resource_version and not new_meta.get("resourceVersion"):
        _invalid(errs, f"{path}.resourceVersion", "", "must be specified for an update")

    new_generation = _check_int(errs, new_meta, "generation", path)
    old_generation = old.get("generation")
    if (
        new_generation is not None
        and isinstance(old_generation, int)
        and not isinstance(old_generation, bool)
        and new_generation < old_generation
    ):
        _invalid(errs, f"{path}.generation", new_generation, "must not be decremented")

    for key in ("name", "namespace"):
        new_value, ok = _optional_string(errs, new_meta, key, path)
        if ok and new_value != (old.get(key) or ""):
            _invalid(errs, f"{path}.{key}", new_value, FIELD_IMMUTABLE)

    new_uid = new_meta.get("uid")
    if isinstance(new_uid, str) and new_uid and new_uid != (old.get("uid") or ""):
        _invalid(errs, f"{path}.uid", new_uid, FIELD_IMMUTABLE)

    new_created = new_meta.get("creationTimestamp")
    old_created = old.get("creationTimestamp")
    if isinstance(new_created, str) and new_created:
        if not isinstance(old_created, str) or not _same_instant(new_created, old_created):
            _invalid(errs, f"{path}.creationTimestamp", _timestamp_value(new_created), FIELD_IMMUTABLE)

    new_deletion = new_meta.get("deletionTimestamp")
    if new_deletion is None or new_deletion == "":
        if old_deletion:
            _invalid(errs, f"{path}.deletionTimestamp", None, FIELD_IMMUTABLE)
    elif isinstance(new_deletion, str):
        if not isinstance(old_deletion, str) or not old_deletion or not _same_instant(new_deletion, old_deletion):
            _invalid(errs, f"{path}.deletionTimestamp", _timestamp_value(new_deletion), FIELD_IMMUTABLE)

    new_grace = new_meta.get("deletionGracePeriodSeconds")
    if (
        isinstance(new_grace, int)
        and not isinstance(new_grace, bool)
        and new_grace != old.get("deletionGracePeriodSeconds")
    ):
        _invalid(errs, f"{path}.deletionGracePeriodSeconds", new_grace, FIELD_IMMUTABLE)

    _validate_meta_content(errs, new_meta, path, qualified_finalizers=qualified_finalizers)
    return errs


def restore_system_fields(new_meta: Mapping[str, Any], old_meta: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `new_meta` with the server-owned fields an update may not touch carried over from the stored
    object, as upstream's `rest.BeforeUpdate` does before validation: uid when missing, creationTimestamp
    always, deletionTimestamp once set, deletionGracePeriodSeconds when missing. Run it before
    `validate_object_meta_update` so that clients replacing an object from a manifest are not rejected."""
    out = dict(new_meta)
    if not out.get("uid") and old_meta.get("uid"):
        out["uid"] = old_meta["uid"]
    if old_meta.get("creationTimestamp"):
        out["creationTimestamp"] = old_meta["creationTimestamp"]
    if old_meta.get("deletionTimestamp"):
        out["deletionTimestamp"] = old_meta["deletionTimestamp"]
    if out.get("deletionGracePeriodSeconds") is None and old_meta.get("deletionGracePeriodSeconds") is not None:
        out["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]
    return out
