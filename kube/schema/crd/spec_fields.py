"""The checks of one part of a CRD's spec each: a version's deprecation, the names, a printer column, the
subresources, the conversion, and the api-approved annotation of a *.k8s.io group."""

from __future__ import annotations

import re
from typing import Any

from kube.errors import FieldErrors

from .. import jsonpath
from ..customresource import is_dns1035_label
from .common import (
    API_APPROVAL_ANNOTATION,
    PRINTER_COLUMN_FORMATS,
    PRINTER_COLUMN_TYPES,
    Obj,
    _d,
    _forbidden,
    _go_lower,
    _invalid,
    _l,
    _not_supported,
    _required,
    _s,
)


def _validate_deprecation(v: Obj, path: str) -> FieldErrors:
    errs = FieldErrors()
    warning = v.get("deprecationWarning")
    if warning is None:
        return errs
    where = f"{path}.deprecationWarning"
    if v.get("deprecated") is not True:
        _invalid(errs, where, warning, "can only be set for deprecated versions")
        return errs
    if not isinstance(warning, str):
        _invalid(errs, where, warning, "must be a string")
        return errs
    if len(warning.encode("utf-8", "surrogatepass")) > 256:
        _invalid(errs, where, warning, "must be <= 256 characters long")
    if not warning:
        _invalid(errs, where, warning, "must not be an empty string")
    for i, ch in enumerate(warning):
        if not ch.isprintable():
            kind = "control" if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 else "non-printable"
            index = len(warning[:i].encode("utf-8", "surrogatepass"))
            _invalid(
                errs,
                where,
                warning,
                f"must only contain printable UTF-8 characters; {kind} character found at index {index}",
            )
            break
    return errs


def _validate_names(names: Obj, path: str) -> FieldErrors:
    errs = FieldErrors()
    for field in ("plural", "singular"):
        value = names.get(field)
        if isinstance(value, str) and value and (problems := is_dns1035_label(value)):
            _invalid(errs, f"{path}.{field}", value, ",".join(problems))
    for field in ("kind", "listKind"):
        value = names.get(field)
        if isinstance(value, str) and value and (problems := is_dns1035_label(_go_lower(value))):
            _invalid(
                errs, f"{path}.{field}", value, "may have mixed case, but should otherwise match: " + ",".join(problems)
            )
    for i, short in enumerate(_l(names.get("shortNames"))):
        if not isinstance(short, str):
            _invalid(errs, f"{path}.shortNames[{i}]", short, "must be a string")
        elif problems := is_dns1035_label(short):
            _invalid(errs, f"{path}.shortNames[{i}]", short, ",".join(problems))
    kind, list_kind = names.get("kind"), names.get("listKind")
    if isinstance(kind, str) and kind and kind == list_kind:
        _invalid(errs, f"{path}.listKind", list_kind, "kind and listKind may not be the same")
    for i, category in enumerate(_l(names.get("categories"))):
        if not isinstance(category, str):
            _invalid(errs, f"{path}.categories[{i}]", category, "must be a string")
        elif problems := is_dns1035_label(category):
            _invalid(errs, f"{path}.categories[{i}]", category, ",".join(problems))
    return errs


def _simple_json_path(errs: FieldErrors, path: str, value: str) -> bool:
    """Upstream's validateSimpleJSONPath, then (extra here) the JSONPath must parse. True when valid."""
    if not value:
        _invalid(errs, path, value, "must not be empty")
        return False
    if not value.startswith("."):
        _invalid(errs, path, value, "must be a simple json path starting with .")
        return False
    try:
        jsonpath.parse(value)
    except ValueError as e:
        _invalid(errs, path, value, str(e))
        return False
    return True


def _validate_column(col: Any, path: str) -> FieldErrors:
    errs = FieldErrors()
    col = _d(col)
    if not col.get("name"):
        _required(errs, f"{path}.name")
    typ = col.get("type")
    allowed = ",".join(PRINTER_COLUMN_TYPES)
    if not typ:
        _required(errs, f"{path}.type", f"must be one of {allowed}")
    elif typ not in PRINTER_COLUMN_TYPES:
        _invalid(errs, f"{path}.type", typ, f"must be one of {allowed}")
    fmt = col.get("format")
    if fmt and fmt not in PRINTER_COLUMN_FORMATS:
        _invalid(errs, f"{path}.format", fmt, "must be one of " + ",".join(PRINTER_COLUMN_FORMATS))
    json_path = col.get("jsonPath")
    if not json_path:
        _required(errs, f"{path}.JSONPath")
    elif not isinstance(json_path, str):
        _invalid(errs, f"{path}.JSONPath", json_path, "must be a string")
    else:
        _simple_json_path(errs, f"{path}.JSONPath", json_path)
    priority = col.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        _invalid(errs, f"{path}.priority", priority, "must be an integer")
    return errs


def _validate_subresources(sub: Any, path: str) -> FieldErrors:
    errs = FieldErrors()
    scale = _d(sub).get("scale")
    if not isinstance(scale, dict):
        return errs
    for field, prefix, what in (
        ("specReplicasPath", ".spec.", ".spec"),
        ("statusReplicasPath", ".status.", ".status"),
    ):
        value = scale.get(field)
        where = f"{path}.scale.{field}"
        if not value:
            _required(errs, where)
        elif not isinstance(value, str):
            _invalid(errs, where, value, "must be a string")
        elif _simple_json_path(errs, where, value) and not value.startswith(prefix):
            _invalid(errs, where, value, f"should be a json path under {what}")
    selector = scale.get("labelSelectorPath")
    where = f"{path}.scale.labelSelectorPath"
    if isinstance(selector, str) and selector:
        if _simple_json_path(errs, where, selector) and not selector.startswith((".spec.", ".status.")):
            _invalid(errs, where, selector, "should be a json path under either .spec or .status")
    elif selector is not None and not isinstance(selector, str):
        _invalid(errs, where, selector, "must be a string")
    return errs


def _validate_conversion(conversion: Any, upstream_paths: bool) -> FieldErrors:
    errs = FieldErrors()
    if conversion is None:
        return errs
    conv = _d(conversion)
    strategy = conv.get("strategy")
    if strategy is None or strategy == "":
        _required(errs, "spec.conversion.strategy")
    elif strategy != "None":
        _not_supported(errs, "spec.conversion.strategy", strategy, ("None",))
    webhook = _d(conv.get("webhook"))
    if strategy == "None" or strategy is None or strategy == "":
        detail = "should not be set when strategy is not set to Webhook"
        if webhook.get("clientConfig") is not None:
            where = "spec.conversion.webhookClientConfig" if upstream_paths else "spec.conversion.webhook.clientConfig"
            _forbidden(errs, where, detail)
        if _l(webhook.get("conversionReviewVersions")):
            where = (
                "spec.conversion.conversionReviewVersions"
                if upstream_paths
                else "spec.conversion.webhook.conversionReviewVersions"
            )
            _forbidden(errs, where, detail)
    return errs


def _validate_api_approval(new: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    group = _s(_d(new.get("spec")).get("group"))
    if not (group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io"))):
        return errs

    def state(crd: Obj) -> tuple[str, str, str]:
        annotation = _d(_d(crd.get("metadata")).get("annotations")).get(API_APPROVAL_ANNOTATION)
        annotation = annotation if isinstance(annotation, str) else ""
        link = "see https://github.com/kubernetes/enhancements/pull/1111"
        if not annotation:
            return (
                "missing",
                annotation,
                f'protected groups must have approval annotation "{API_APPROVAL_ANNOTATION}", {link}',
            )
        if annotation.startswith("unapproved"):
            return "bypassed", annotation, ""
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s?#]+", annotation):
            return "approved", annotation, ""
        return (
            "invalid",
            annotation,
            f'protected groups must have approval annotation "{API_APPROVAL_ANNOTATION}" with either a URL or a '
            f'reason starting with "unapproved", {link}',
        )

    new_state, value, reason = state(new)
    if old is not None and state(old)[0] == new_state:
        return errs
    where = f"metadata.annotations[{API_APPROVAL_ANNOTATION}]"
    if new_state == "missing":
        _required(errs, where, reason)
    elif new_state == "invalid":
        _invalid(errs, where, value, reason)
    return errs
