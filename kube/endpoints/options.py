"""Query-parameter parsing shared by the DRF views and the watch consumer, validated as the
apiserver's ValidateListOptions / ValidateCreateOptions do (bad values → 400/422 Status), and
the JSON types of a DeleteOptions body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kube import errors
from kube.registry import ResourceInfo
from kube.selectors import parse_field_selector, parse_label_selector
from kube.storage.filters import field_q, label_q

MAX_LIMIT = 1_000_000  # larger pages are not refused, just capped (the continue token carries on)
MAX_REVISION = 2**63 - 1


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


def int64(value: str) -> int:
    """A query parameter as Go's strconv.ParseInt reads an int64: ASCII digits with an optional
    sign, nothing else (Python's int() would also take spaces, `1_0` and other scripts' digits).
    ValueError otherwise."""
    if not _INTEGER.fullmatch(value):
        raise ValueError(f"invalid syntax: {value[:64]!r}")
    number = int(value)
    if not -(2**63) <= number <= MAX_REVISION:
        raise ValueError(f"value out of range: {value}")
    return number


@dataclass
class ListOptions:
    label_q: Any
    field_q: Any
    label_selector: Any
    field_selector: Any
    limit: int
    continue_token: str
    resource_version: str
    resource_version_match: str
    watch: bool
    allow_bookmarks: bool
    send_initial_events: bool | None
    timeout_seconds: int | None
    include_object: str


def list_options(q: Mapping[str, str], info: ResourceInfo, *, watch: bool, name: str = "") -> ListOptions:
    errs = errors.FieldErrors()
    labels = parse_label_selector(q.get("labelSelector", ""))
    fs = q.get("fieldSelector", "")
    if name:
        fs = f"metadata.name={name}" + (f",{fs}" if fs else "")
    allowed = {"metadata.name", "metadata.namespace", *info.strategy.field_labels}
    fields = parse_field_selector(fs, allowed)
    limit = 0
    if q.get("limit"):
        try:
            limit = int64(q["limit"])
        except ValueError:
            errs.invalid("limit", q["limit"], "must be an integer")
        if limit < 0:
            errs.invalid("limit", limit, "must be greater than or equal to 0")
        limit = min(limit, MAX_LIMIT)
    timeout = None
    if q.get("timeoutSeconds"):
        try:
            timeout = int64(q["timeoutSeconds"])
        except ValueError:
            errs.invalid("timeoutSeconds", q["timeoutSeconds"], "must be an integer")
    rv = q.get("resourceVersion", "")
    if rv and rv != "0":
        try:
            if not (rv.isascii() and rv.isdigit()) or int64(rv) < 0:  # unsigned, as ParseUint
                raise ValueError
        except ValueError:
            raise errors.BadRequest(f'resourceVersion: Invalid value: "{rv}": must be a non-negative integer') from None
    rv_match = q.get("resourceVersionMatch", "")
    sie_raw = q.get("sendInitialEvents")
    send_initial = None if sie_raw is None else _bool(sie_raw)
    if rv_match and rv_match not in ("NotOlderThan", "Exact"):
        errs.not_supported("resourceVersionMatch", rv_match, ["Exact", "NotOlderThan"])
    if watch:
        if send_initial is not None and rv_match != "NotOlderThan":
            errs.forbidden(
                "resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            )
        if rv_match and send_initial is None:
            errs.forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            )
        if send_initial is not None and not _bool(q.get("allowWatchBookmarks")):
            errs.forbidden("allowWatchBookmarks", "allowWatchBookmarks required when sendInitialEvents is provided")
    else:
        if send_initial is not None:
            errs.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list")
        if rv_match and not rv:
            errs.forbidden(
                "resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        if rv_match == "Exact" and rv == "0":
            errs.forbidden("resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
        if q.get("continue") and rv and rv != "0":
            errs.forbidden("resourceVersion", "specifying resource version is not allowed when using continue")
    include = q.get("includeObject", "Metadata") or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        errs.not_supported("includeObject", include, ["None", "Metadata", "Object"])
    if errs:
        raise errors.invalid("ListOptions", "", errs.causes, "meta.k8s.io")
    return ListOptions(
        label_q=label_q(labels),
        field_q=field_q(fields, info.namespaced),
        label_selector=labels,
        field_selector=fields,
        limit=limit,
        continue_token=q.get("continue", ""),
        resource_version=rv,
        resource_version_match=rv_match,
        watch=watch,
        allow_bookmarks=_bool(q.get("allowWatchBookmarks")),
        send_initial_events=send_initial,
        timeout_seconds=timeout,
        include_object=include,
    )


#: The options kind kube-apiserver names when a write's query options are invalid, by verb.
OPTIONS_KIND = {
    "create": "CreateOptions",
    "update": "UpdateOptions",
    "patch": "PatchOptions",
    "delete": "DeleteOptions",
    "deletecollection": "DeleteOptions",
}


def dry_run(values: list[str], *, verb: str) -> bool:
    """Whether `dryRun` asks for a dry run; 422 naming the verb's options kind for any value but All."""
    for v in values:
        if v != "All":
            raise errors.invalid(
                OPTIONS_KIND.get(verb, "CreateOptions"),
                "",
                [
                    errors.Cause(
                        "FieldValueNotSupported", f'Unsupported value: "{v}": supported values: "All"', "dryRun"
                    )
                ],
                "meta.k8s.io",
            )
    return bool(values)


def field_validation(value: str | None) -> str:
    if value is None or value == "":
        return "Warn"
    if value not in ("Strict", "Warn", "Ignore"):
        raise errors.BadRequest(
            f'fieldValidation: Unsupported value: "{value}": supported values: "Ignore", "Strict", "Warn"'
        )
    return value


def field_manager(value: str | None, user_agent: str, *, verb: str) -> str:
    """The write's field manager: the `fieldManager` parameter (422 naming the verb's options kind
    when too long or not printable), else the User-Agent's program name, as kube-apiserver does."""
    kind = OPTIONS_KIND.get(verb, "PatchOptions")
    if value:
        if len(value) > 128:
            raise errors.invalid(
                kind,
                "",
                [errors.Cause("FieldValueTooLong", "Too long: may not be more than 128 bytes", "fieldManager")],
                "meta.k8s.io",
            )
        if not value.isprintable():
            raise errors.invalid(
                kind,
                "",
                [
                    errors.Cause(
                        "FieldValueInvalid", "Invalid value: must only contain printable characters", "fieldManager"
                    )
                ],
                "meta.k8s.io",
            )
        return value
    prefix = (user_agent or "unknown").split("/")[0].strip()
    return prefix[:128] or "unknown"


#: DeleteOptions fields whose JSON type the Store relies on, with the Go type a client is told about.
_DELETE_OPTION_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "preconditions": (dict, "v1.Preconditions"),
    "orphanDependents": (bool, "bool"),
    "propagationPolicy": (str, "v1.DeletionPropagation"),
    "dryRun": (list, "[]string"),
}


def delete_options_check_types(*, options: dict[str, Any]) -> None:
    """400, in the words of Go's JSON decoder, for a DeleteOptions field of the wrong JSON type
    (null is absent), as the apiserver answers when it cannot decode the body."""

    def refuse(value: Any, field: str, go_type: str) -> errors.BadRequest:
        kind = {dict: "object", list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        return errors.BadRequest(
            f"json: cannot unmarshal {kind} into Go struct field DeleteOptions.{field} of type {go_type}"
        )

    for field, (expected, go_type) in _DELETE_OPTION_TYPES.items():
        value = options.get(field)
        if value is not None and not isinstance(value, expected):
            raise refuse(value, field, go_type)
    for item in options.get("dryRun") or []:
        if not isinstance(item, str):
            raise refuse(item, "dryRun", "string")
    for field in ("uid", "resourceVersion"):
        value = (options.get("preconditions") or {}).get(field)
        if value is not None and not isinstance(value, str):
            raise refuse(value, f"preconditions.{field}", "string")
