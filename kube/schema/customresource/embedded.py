"""Embedded resources (objectmeta.Validate) and list-type invariants (listtype.ValidateListSetsAndMaps).

`_walk_embedded` checks apiVersion/kind/metadata of every `x-kubernetes-embedded-resource` object;
`_walk_lists` checks `x-kubernetes-list-type` set and map uniqueness. Both append causes worded as the
apiserver words them to a `FieldErrors`. `is_dns1035_label` is apimachinery's IsDNS1035Label, which the CRD
validation uses for names, kinds and versions too.
"""

from __future__ import annotations

import math
import re
from typing import Any

from kube.errors import Cause, FieldErrors
from kube.meta_validation import (
    go_quote,
    is_dns1123_label,
    validate_annotations,
    validate_finalizers,
    validate_labels,
    validate_owner_references,
)

from .compiled import _Node
from .govalues import _BOOL, _FLOAT, _INT, _LIST, _MAP, _OTHER, _STR, _go_json, _go_value, _render
from .limits import MAX_DEPTH, Obj
from .validation import _R_INVALID, _R_TYPE

_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_RE = re.compile(_DNS1035_FMT)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    f"validation is '{_DNS1035_FMT}')"
)


def is_dns1035_label(value: str) -> list[str]:
    """apimachinery's IsDNS1035Label: ≤ 63 bytes of `[a-z]([-a-z0-9]*[a-z0-9])?` (CRD names, kinds, versions)."""
    errs = []
    if len(value.encode("utf-8", "surrogatepass")) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_RE.fullmatch(value):
        errs.append(_DNS1035_MSG)
    return errs


def _go_lower(s: str) -> str:
    return "".join(ch.lower()[:1] for ch in s)


def _json_type_name(v: Any) -> str:
    kind = _go_value(v)[0]
    return {_BOOL: "bool", _INT: "number", _FLOAT: "number", _STR: "string", _LIST: "array", _MAP: "object"}.get(
        kind, "null" if v is None else "value"
    )


def _path_segment_errors(name: str, prefix: bool) -> list[str]:
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _validate_embedded_meta(meta: Any, path: str, errs: FieldErrors) -> None:
    """ObjectMeta of an embedded resource: generic ObjectMeta rules with path-segment names."""
    if not isinstance(meta, dict):
        errs.causes.append(
            Cause(
                _R_INVALID,
                f"Invalid value: {_render(meta)}: json: cannot unmarshal {_json_type_name(meta)} into Go value of "
                "type v1.ObjectMeta",
                path,
            )
        )
        return
    for key, prefix in (("generateName", True), ("name", False)):
        value = meta.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            errs.causes.append(
                Cause(_R_TYPE, f"Invalid value: {_render(value)}: must be of type string", f"{path}.{key}")
            )
            continue
        for msg in _path_segment_errors(value, prefix):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {go_quote(value)}: {msg}", f"{path}.{key}"))
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace:
        for msg in is_dns1123_label(namespace):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {go_quote(namespace)}: {msg}", f"{path}.namespace"))
    elif namespace is not None and not isinstance(namespace, str):
        errs.causes.append(
            Cause(_R_TYPE, f"Invalid value: {_render(namespace)}: must be of type string", f"{path}.namespace")
        )
    generation = meta.get("generation")
    if isinstance(generation, int) and not isinstance(generation, bool) and generation < 0:
        errs.causes.append(
            Cause(_R_INVALID, f"Invalid value: {generation}: must be greater than or equal to 0", f"{path}.generation")
        )
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), f"{path}.finalizers", qualified=False))


def _validate_embedded_resource(x: Obj, path: str, errs: FieldErrors) -> None:
    def child(k: str) -> str:
        return f"{path}.{k}" if path else k

    if "apiVersion" not in x:
        errs.required(child("apiVersion"))
    if "kind" not in x:
        errs.required(child("kind"))
    if "apiVersion" in x:
        v = x["apiVersion"]
        if not isinstance(v, str):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {_render(v)}: must be a string", child("apiVersion")))
        elif not v:
            errs.causes.append(Cause(_R_INVALID, 'Invalid value: "": must not be empty', child("apiVersion")))
        elif v != "/" and v.count("/") > 1:
            msg = f"Invalid value: {go_quote(v)}: unexpected GroupVersion string: {v}"
            errs.causes.append(Cause(_R_INVALID, msg, child("apiVersion")))
    if "kind" in x:
        v = x["kind"]
        if not isinstance(v, str):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {_render(v)}: must be a string", child("kind")))
        elif not v:
            errs.causes.append(Cause(_R_INVALID, 'Invalid value: "": must not be empty', child("kind")))
        else:
            problems = is_dns1035_label(_go_lower(v))
            if problems:
                msg = "may have mixed case, but should otherwise match: " + ",".join(problems)
                errs.causes.append(Cause(_R_INVALID, f"Invalid value: {go_quote(v)}: {msg}", child("kind")))
    if "metadata" in x:
        _validate_embedded_meta(x["metadata"], child("metadata"), errs)


def _walk_embedded(x: Any, node: _Node, path: str, errs: FieldErrors, depth: int) -> None:
    if depth > MAX_DEPTH or not node.has_embedded_below:
        return
    if isinstance(x, dict):
        if node.embedded:
            _validate_embedded_resource(x, path, errs)
        props = node.properties
        extra = node.additional
        for k, v in x.items():
            child = props.get(k)
            if child is not None:
                _walk_embedded(v, child, f"{path}.{k}" if path else k, errs, depth + 1)
            elif extra is not None:
                _walk_embedded(v, extra, f"{path}[{k}]", errs, depth + 1)
    elif isinstance(x, list) and node.items is not None:
        for i, v in enumerate(x):
            _walk_embedded(v, node.items, f"{path}[{i}]", errs, depth + 1)


def _set_key(v: Any) -> Any:
    """Identity of a list-type=set element: Go map-key equality for scalars, JSON text for compounds."""
    kind, gv = _go_value(v)
    if kind in (_MAP, _LIST):
        return ("json", _go_json(gv))
    if kind == _FLOAT and math.isnan(gv):
        return ("nan", id(v))
    if kind == _OTHER:
        return ("other", repr(v))
    return (kind, gv)


def _duplicates(keys: list[Any]) -> list[int]:
    """Indexes of the second occurrence of each repeated key (upstream reports only that one)."""
    seen: dict[Any, int] = {}
    out = []
    for i, k in enumerate(keys):
        times = seen.get(k, 0)
        if times == 1:
            out.append(i)
        seen[k] = times + 1
    return out


_UNSPECIFIED = ("unspecified",)


def _check_list(node: _Node, x: list[Any], path: str, errs: FieldErrors) -> None:
    if node.list_type == "set":
        for i in _duplicates([_set_key(v) for v in x]):
            errs.causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_render(x[i])}", f"{path}[{i}]"))
        return
    for i, item in enumerate(x):
        if item is not None and not isinstance(item, dict):
            msg = f"Invalid value: {_render(item)}: must be an object for an array of list-type map"
            errs.causes.append(Cause(_R_INVALID, msg, f"{path}[{i}]"))
            return
    if len(x) <= 1:
        return
    key_fields = node.list_map_keys
    keys: list[Any] = []
    shown: list[Any] = []
    for item in x:
        if len(key_fields) == 1:
            f = key_fields[0]
            if item is None or f not in item:
                keys.append(_UNSPECIFIED)
                shown.append({})
            else:
                keys.append(_set_key(item[f]))
                shown.append({f: item[f]})
        else:
            key = {} if item is None else {f: item[f] for f in key_fields if f in item}
            keys.append(("json", _go_json(key)))
            shown.append(key)
    for i in _duplicates(keys):
        errs.causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_go_json(shown[i])}", f"{path}[{i}]"))


def _walk_lists(x: Any, node: _Node, path: str, errs: FieldErrors, depth: int) -> None:
    if depth > MAX_DEPTH or not node.has_lists_below:
        return
    if isinstance(x, dict):
        extra = node.additional
        if extra is not None:
            for k, v in x.items():
                _walk_lists(v, extra, f"{path}[{k}]", errs, depth + 1)
        for k, v in x.items():
            child = node.properties.get(k)
            if child is not None:
                _walk_lists(v, child, f"{path}.{k}" if path else k, errs, depth + 1)
    elif isinstance(x, list):
        if node.list_type in ("set", "map"):
            _check_list(node, x, path, errs)
        if node.items is not None:
            for i, v in enumerate(x):
                _walk_lists(v, node.items, f"{path}[{i}]", errs, depth + 1)
