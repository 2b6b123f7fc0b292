"""Kind-specific quirks: the Go facts a ``.proto`` cannot say, kept by hand.

go-to-protobuf writes every field as proto2 ``optional``, so the vendored ``generated.proto`` gives
field numbers, names, types and order, but not how Go's ``encoding/json`` prints the field. That comes
from the Go struct (``k8s.io/api/.../types.go``) and is stated here, per message and field name:

* :data:`GO_FIELDS`: fields that are Go pointers (explicit zero values survive, absence is nil), whose
  JSON tag lacks ``omitempty`` (a zero value, a nil slice or map is still printed), that use
  ``omitzero``, or whose JSON name differs from the ``.proto`` name. Every other field is a non-pointer
  with ``omitempty`` and the ``.proto`` name. The ``// +optional`` comments in the ``.proto`` are not a
  substitute: ``Role.rules`` is ``+optional`` without ``omitempty``, ``ManagedFieldsEntry.manager`` the
  reverse.
* :data:`CONVERTERS`: messages whose JSON form is not an object (Time, IntOrString, ...), with the
  function that renders them from their decoded scalar fields.

``tables.py`` refuses to start if an entry here names a message or field the generated tables lack,
so an upstream refresh that renames something is noticed at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, NoReturn

from .model import Converter
from .wire import MAGIC, DecodeError

__all__ = ["CONVERTERS", "DEFAULT", "GO_FIELDS", "GoField"]


@dataclass(frozen=True)
class GoField:
    """How Go's JSON encoder treats one field (see the module docstring)."""

    pointer: bool = False
    omitempty: bool = True
    omitzero: bool = False
    json_name: str | None = None  # the JSON name when it is not the .proto field name


DEFAULT: Final = GoField()
go = GoField

_META: Final = "k8s.io.apimachinery.pkg.apis.meta.v1"
_RUNTIME: Final = "k8s.io.apimachinery.pkg.runtime"
_CORE: Final = "k8s.io.api.core.v1"
_AUTHZ: Final = "k8s.io.api.authorization.v1"
_AUTHN: Final = "k8s.io.api.authentication.v1"
_RBAC: Final = "k8s.io.api.rbac.v1"

GO_FIELDS: Final[Mapping[str, Mapping[str, GoField]]] = MappingProxyType(
    {
        # meta/v1
        f"{_META}.ObjectMeta": {
            "creationTimestamp": go(omitzero=True),
            "deletionTimestamp": go(pointer=True),
            "deletionGracePeriodSeconds": go(pointer=True),
        },
        f"{_META}.OwnerReference": {
            "apiVersion": go(omitempty=False),
            "kind": go(omitempty=False),
            "name": go(omitempty=False),
            "uid": go(omitempty=False),
            "controller": go(pointer=True),
            "blockOwnerDeletion": go(pointer=True),
        },
        f"{_META}.ManagedFieldsEntry": {"time": go(pointer=True), "fieldsV1": go(pointer=True)},
        f"{_META}.DeleteOptions": {
            "gracePeriodSeconds": go(pointer=True),
            "preconditions": go(pointer=True),
            "orphanDependents": go(pointer=True),
            "propagationPolicy": go(pointer=True),
            "ignoreStoreReadErrorWithClusterBreakingPotential": go(pointer=True),
        },
        f"{_META}.Preconditions": {"uid": go(pointer=True), "resourceVersion": go(pointer=True)},
        f"{_META}.LabelSelectorRequirement": {"key": go(omitempty=False), "operator": go(omitempty=False)},
        f"{_META}.FieldSelectorRequirement": {"key": go(omitempty=False), "operator": go(omitempty=False)},
        # core/v1
        f"{_CORE}.NamespaceCondition": {"type": go(omitempty=False), "status": go(omitempty=False)},
        f"{_CORE}.ConfigMap": {"immutable": go(pointer=True)},
        f"{_CORE}.Secret": {"immutable": go(pointer=True)},
        f"{_CORE}.ServiceAccount": {"automountServiceAccountToken": go(pointer=True)},
        f"{_CORE}.Event": {
            "series": go(pointer=True),
            "related": go(pointer=True),
            "reportingComponent": go(omitempty=False),
            "reportingInstance": go(omitempty=False),
        },
        # authorization/v1
        f"{_AUTHZ}.SelfSubjectAccessReview": {"spec": go(omitempty=False)},
        f"{_AUTHZ}.SelfSubjectAccessReviewSpec": {
            "resourceAttributes": go(pointer=True),
            "nonResourceAttributes": go(pointer=True),
        },
        f"{_AUTHZ}.SubjectAccessReview": {"spec": go(omitempty=False)},
        f"{_AUTHZ}.LocalSubjectAccessReview": {"spec": go(omitempty=False)},
        f"{_AUTHZ}.SubjectAccessReviewSpec": {
            "resourceAttributes": go(pointer=True),
            "nonResourceAttributes": go(pointer=True),
        },
        f"{_AUTHZ}.SubjectAccessReviewStatus": {"allowed": go(omitempty=False)},
        f"{_AUTHZ}.ResourceAttributes": {"fieldSelector": go(pointer=True), "labelSelector": go(pointer=True)},
        f"{_AUTHZ}.SelfSubjectRulesReview": {"spec": go(omitempty=False)},
        f"{_AUTHZ}.SubjectRulesReviewStatus": {
            "resourceRules": go(omitempty=False),
            "nonResourceRules": go(omitempty=False),
            "incomplete": go(omitempty=False),
        },
        f"{_AUTHZ}.ResourceRule": {"verbs": go(omitempty=False)},
        f"{_AUTHZ}.NonResourceRule": {"verbs": go(omitempty=False)},
        # authentication/v1
        f"{_AUTHN}.TokenRequest": {"spec": go(omitempty=False)},
        f"{_AUTHN}.TokenRequestSpec": {
            "audiences": go(omitempty=False),
            "expirationSeconds": go(pointer=True, omitempty=False),
            "boundObjectRef": go(pointer=True, omitempty=False),
        },
        f"{_AUTHN}.BoundObjectReference": {"uID": go(json_name="uid")},
        f"{_AUTHN}.TokenRequestStatus": {"token": go(omitempty=False), "expirationTimestamp": go(omitempty=False)},
        f"{_AUTHN}.TokenReview": {"spec": go(omitempty=False)},
        # coordination/v1
        "k8s.io.api.coordination.v1.LeaseSpec": {
            "holderIdentity": go(pointer=True),
            "leaseDurationSeconds": go(pointer=True),
            "acquireTime": go(pointer=True),
            "renewTime": go(pointer=True),
            "leaseTransitions": go(pointer=True),
            "strategy": go(pointer=True),
            "preferredHolder": go(pointer=True),
        },
        # rbac/v1
        f"{_RBAC}.PolicyRule": {"verbs": go(omitempty=False)},
        f"{_RBAC}.Role": {"rules": go(omitempty=False)},
        f"{_RBAC}.ClusterRole": {"rules": go(omitempty=False), "aggregationRule": go(pointer=True)},
        f"{_RBAC}.RoleRef": {"apiGroup": go(omitempty=False), "kind": go(omitempty=False), "name": go(omitempty=False)},
        f"{_RBAC}.Subject": {"kind": go(omitempty=False), "name": go(omitempty=False)},
        f"{_RBAC}.RoleBinding": {"roleRef": go(omitempty=False)},
        f"{_RBAC}.ClusterRoleBinding": {"roleRef": go(omitempty=False)},
    }
)


# --------------------------------------------------------------------------------------------------
# Special types: JSON forms that are not objects
# --------------------------------------------------------------------------------------------------

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_GO_ZERO_TIME_UNIX: Final = -62135596800  # time.Time{} (0001-01-01T00:00:00Z) as Unix seconds


def _format_time(total_us: int, micro: bool) -> str:
    try:
        t = _EPOCH + timedelta(microseconds=total_us)
    except OverflowError:
        raise DecodeError("timestamp out of range") from None
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond:06d}Z" if micro else f"{text}Z"


def _time_json(values: Mapping[str, Any], empty: bool) -> str | None:
    """metav1.Time: nanos are dropped on decode, as upstream; the zero time is ``null``."""
    seconds = values["seconds"]
    if empty or seconds == _GO_ZERO_TIME_UNIX:
        return None
    return _format_time(seconds * 1_000_000, micro=False)


def _micro_time_json(values: Mapping[str, Any], empty: bool) -> str | None:
    """metav1.MicroTime: nanos truncated toward zero to microseconds; the zero time is ``null``."""
    nanos: int = values["nanos"]
    micros = abs(nanos) // 1000
    total_us = values["seconds"] * 1_000_000 + (micros if nanos >= 0 else -micros)
    if empty or total_us == _GO_ZERO_TIME_UNIX * 1_000_000:
        return None
    return _format_time(total_us, micro=True)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"{what} does not hold valid JSON: {exc}") from None


def _fields_v1_json(values: Mapping[str, Any], empty: bool) -> Any:
    """metav1.FieldsV1: the raw bytes are the JSON field set; none -> ``null``."""
    raw: bytes = values["Raw"]
    return _parse_json(raw, "FieldsV1") if raw else None


def _raw_extension_json(values: Mapping[str, Any], empty: bool) -> Any:
    """runtime.RawExtension: the embedded JSON, parsed; none -> ``null``.

    An embedded protobuf object (``k8s\\x00``..., as in protobuf WatchEvents) is not supported.
    """
    raw: bytes = values["raw"]
    if not raw:
        return None
    if raw.startswith(MAGIC):
        raise DecodeError("RawExtension holding a protobuf object is not supported")
    return _parse_json(raw, "RawExtension")


def _int_or_string_json(values: Mapping[str, Any], empty: bool) -> int | str:
    """intstr.IntOrString: type 0 -> intVal, type 1 -> strVal."""
    kind = values["type"]
    if kind == 0:
        return int(values["intVal"])
    if kind == 1:
        return str(values["strVal"])
    raise DecodeError(f"impossible IntOrString.Type {kind}")


def _quantity_json(values: Mapping[str, Any], empty: bool) -> str:
    """resource.Quantity: its string form, as sent (not canonicalised); ``"0"`` when unset."""
    return str(values["string"]) or "0"


def _string_list_json(values: Mapping[str, Any], empty: bool) -> list[str] | None:
    """A Go ``[]string`` named type (ExtraValue, AttestationValue): a nil slice renders as ``null``."""
    items: list[str] = values["items"]
    return items or None


CONVERTERS: Final[Mapping[str, Converter]] = MappingProxyType(
    {
        f"{_META}.Time": _time_json,
        f"{_META}.MicroTime": _micro_time_json,
        f"{_META}.FieldsV1": _fields_v1_json,
        f"{_RUNTIME}.RawExtension": _raw_extension_json,
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString": _int_or_string_json,
        "k8s.io.apimachinery.pkg.api.resource.Quantity": _quantity_json,
        f"{_AUTHZ}.ExtraValue": _string_list_json,
        f"{_AUTHN}.ExtraValue": _string_list_json,
        f"{_AUTHN}.AttestationValue": _string_list_json,
    }
)
"""Full message name -> renderer; exactly the messages of ``kinds.SPECIAL``."""
