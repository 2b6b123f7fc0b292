"""Decoding of Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``) into JSON-shaped dicts.

client-go >= 1.32 sends protobuf bodies for built-in kinds (kubectl create namespace/configmap/secret,
helm 4 release Secrets and DeleteOptions, kubectl auth can-i / whoami; reference/kube-clients.md §0.1 and
§12). This module turns such a body into exactly the dict the server would have got had the client sent
JSON, so the rest of the server only ever sees JSON-shaped objects. Responses stay JSON.

Wire format ([source] apimachinery ``runtime/serializer/protobuf``)::

    body    = b"k8s\\x00" + Unknown
    Unknown = {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType}

``raw`` is the protobuf encoding of the Go type, with the field numbers of the upstream
``k8s.io/api/<group>/<version>/generated.proto`` and ``k8s.io/apimachinery/.../meta/v1/generated.proto``.

Contract of the output: for every supported kind, ``decode(body)`` equals ``json.loads`` of what Go's
``encoding/json`` prints for the object client-go's protobuf decoder would build from ``body`` (keys in
Go field order, ``apiVersion``/``kind`` first, map keys sorted). That means the upstream JSON tags are honoured:
``omitempty`` drops ``""``/``0``/``false``/nil; ``omitzero`` (``metadata.creationTimestamp``) drops a
zero time; non-pointer structs are always emitted (``"spec": {}``); a zero ``Time`` renders as ``null``;
pointer fields keep explicit zero values (``gracePeriodSeconds: 0``); nil slices/maps without
``omitempty`` render as ``null``. Special types: ``Time`` -> ``"2026-01-02T03:04:05Z"`` (seconds only,
as upstream), ``MicroTime`` -> ``"2026-01-02T03:04:05.000000Z"``, ``map<string, bytes>`` values and
``bytes`` -> base64, ``FieldsV1``/``RawExtension`` -> the embedded JSON parsed, ``IntOrString`` -> int or
str, ``Quantity`` -> its string, ``ExtraValue``/``AttestationValue`` -> list of strings.

Unknown field numbers are skipped, as the Go decoder does; a singular scalar sent twice keeps the last value and
repeated occurrences of a message field merge, as in protobuf. Invalid UTF-8 in strings is replaced by
U+FFFD, as Go's JSON encoder does. Every malformed input raises :class:`kube.errors.BadRequest`.

The decoder is table-driven: each Go type is a :class:`Message` (field number -> JSON name, type,
cardinality, pointer/omitempty flags) and :data:`KINDS` maps ``(apiVersion, kind)`` to the top-level
message. Supporting another kind means adding descriptors, not code.
"""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, NoReturn

from kube.errors import BadRequest

__all__ = [
    "ANY_VERSION",
    "KINDS",
    "MAGIC",
    "PROTOBUF_MEDIA_TYPE",
    "Cardinality",
    "Field",
    "Message",
    "Scalar",
    "decode",
    "decode_message",
]

PROTOBUF_MEDIA_TYPE: Final = "application/vnd.kubernetes.protobuf"
MAGIC: Final = b"k8s\x00"
ANY_VERSION: Final = "*"
"""Wildcard apiVersion in :data:`KINDS`, for kinds registered in every group version (DeleteOptions)."""

_MAX_DEPTH: Final = 32  # nesting guard, should a descriptor ever be recursive (e.g. JSONSchemaProps)


class _DecodeError(Exception):
    """Internal: malformed input. :func:`decode` turns it into a BadRequest naming the kind."""


# --------------------------------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------------------------------


class WireType(enum.IntEnum):
    """Protobuf wire types (groups, 3 and 4, are never used by Kubernetes and are rejected)."""

    VARINT = 0
    I64 = 1
    LEN = 2
    I32 = 5


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read an unsigned varint at ``pos``; return ``(value mod 2**64, next position)``."""
    if pos < len(data) and data[pos] < 0x80:  # one byte: most keys and lengths
        return data[pos], pos + 1
    result = 0
    shift = 0
    end = len(data)
    while True:
        if shift >= 70:
            raise _DecodeError("varint overflows 64 bits")
        if pos >= end:
            raise _DecodeError("unexpected end of data inside a varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos


def _iter_wire(data: bytes) -> Iterator[tuple[int, WireType, int | bytes]]:
    """Yield ``(field number, wire type, value)`` for each field of one encoded message.

    ``value`` is an ``int`` for VARINT/I64/I32 (unsigned) and ``bytes`` for LEN.
    Raises _DecodeError on truncation, field number 0, or an unsupported wire type.
    """
    pos = 0
    end = len(data)
    read_varint = _read_varint
    varint, length_delimited = WireType.VARINT, WireType.LEN
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise _DecodeError(f"illegal field number {number}")
        if wire == 2:
            length, pos = read_varint(data, pos)
            if length > end - pos:
                raise _DecodeError(f"field {number}: length {length} runs past the end of the data")
            yield number, length_delimited, data[pos : pos + length]
            pos += length
        elif wire == 0:
            value, pos = read_varint(data, pos)
            yield number, varint, value
        elif wire == WireType.I64:
            if end - pos < 8:
                raise _DecodeError(f"field {number}: truncated fixed64")
            yield number, WireType.I64, int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire == WireType.I32:
            if end - pos < 4:
                raise _DecodeError(f"field {number}: truncated fixed32")
            yield number, WireType.I32, int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        else:
            raise _DecodeError(f"field {number}: unsupported wire type {wire}")


# --------------------------------------------------------------------------------------------------
# Descriptors
# --------------------------------------------------------------------------------------------------


class Scalar(enum.Enum):
    """Scalar protobuf types, with their JSON rendering."""

    STRING = "string"  # LEN, UTF-8 (invalid bytes -> U+FFFD)
    BYTES = "bytes"  # LEN, rendered as standard base64
    BOOL = "bool"  # VARINT
    INT32 = "int32"  # VARINT, two's complement truncated to 32 bits
    INT64 = "int64"  # VARINT, two's complement


_ZERO: Final[Mapping[Scalar, Any]] = MappingProxyType(
    {Scalar.STRING: "", Scalar.BYTES: b"", Scalar.BOOL: False, Scalar.INT32: 0, Scalar.INT64: 0}
)


class Cardinality(enum.Enum):
    """How often a field occurs: once, as a list (``repeated``), or as ``map<string, V>``."""

    SINGULAR = "singular"
    REPEATED = "repeated"
    MAP = "map"


Converter = Callable[[Mapping[str, Any], bool], Any]
"""Renders a special message (Time, FieldsV1, ...) from its raw field values and whether it was empty."""


@dataclass(frozen=True)
class Field:
    """One field of a message.

    ``name`` is the JSON name. For MAP fields ``type`` is the value type (keys are strings).
    ``pointer`` mirrors a Go pointer field: presence on the wire is kept, so explicit zero values survive,
    and absence means nil. ``omitempty``/``omitzero`` mirror the Go JSON tag options.
    """

    number: int
    name: str
    type: Scalar | Message
    cardinality: Cardinality = Cardinality.SINGULAR
    pointer: bool = False
    omitempty: bool = True
    omitzero: bool = False
    entry: Message | None = field(default=None, init=False, repr=False, compare=False)
    """For MAP fields: the implicit entry message {1: key (string), 2: value}."""

    def __post_init__(self) -> None:
        if self.cardinality is Cardinality.MAP:
            value = Field(2, "value", self.type)
            object.__setattr__(self, "entry", Message(f"{self.name}Entry", (Field(1, "key", Scalar.STRING), value)))


@dataclass(frozen=True)
class Message:
    """A protobuf message and the Go type it stands for.

    With ``convert`` the message is a special type whose JSON form is not an object: its fields are
    decoded raw (scalars as Python values, zero when absent; repeated fields as lists) and passed to
    ``convert(values, empty)``, where ``empty`` tells whether the encoded message had no bytes at all.
    """

    name: str
    fields: tuple[Field, ...]
    convert: Converter | None = None
    by_number: Mapping[int, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        numbers = {f.number: f for f in self.fields}
        if len(numbers) != len(self.fields):
            raise ValueError(f"{self.name}: duplicate field numbers")
        if self.convert is not None and any(
            not isinstance(f.type, Scalar) or f.cardinality is Cardinality.MAP for f in self.fields
        ):
            raise ValueError(f"{self.name}: a special message may only hold scalar fields")
        object.__setattr__(self, "by_number", MappingProxyType(numbers))


def _f(
    number: int,
    name: str,
    type_: Scalar | Message,
    *,
    ptr: bool = False,
    omitempty: bool = True,
    omitzero: bool = False,
) -> Field:
    return Field(number, name, type_, Cardinality.SINGULAR, ptr, omitempty, omitzero)


def _rep(number: int, name: str, type_: Scalar | Message, *, omitempty: bool = True) -> Field:
    return Field(number, name, type_, Cardinality.REPEATED, False, omitempty)


def _map(number: int, name: str, value: Scalar | Message, *, omitempty: bool = True) -> Field:
    return Field(number, name, value, Cardinality.MAP, False, omitempty)


STRING, BYTES, BOOL, INT32, INT64 = Scalar.STRING, Scalar.BYTES, Scalar.BOOL, Scalar.INT32, Scalar.INT64


# --------------------------------------------------------------------------------------------------
# Special types
# --------------------------------------------------------------------------------------------------

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_GO_ZERO_TIME_UNIX: Final = -62135596800  # time.Time{} (0001-01-01T00:00:00Z) as Unix seconds


def _format_time(total_us: int, micro: bool) -> str:
    try:
        t = _EPOCH + timedelta(microseconds=total_us)
    except OverflowError:
        raise _DecodeError("timestamp out of range") from None
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
        raise _DecodeError(f"{what} does not hold valid JSON: {exc}") from None


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
        raise _DecodeError("RawExtension holding a protobuf object is not supported")
    return _parse_json(raw, "RawExtension")


def _int_or_string_json(values: Mapping[str, Any], empty: bool) -> int | str:
    """intstr.IntOrString: type 0 -> intVal, type 1 -> strVal."""
    kind = values["type"]
    if kind == 0:
        return int(values["intVal"])
    if kind == 1:
        return str(values["strVal"])
    raise _DecodeError(f"impossible IntOrString.Type {kind}")


def _quantity_json(values: Mapping[str, Any], empty: bool) -> str:
    """resource.Quantity: its string form, as sent (not canonicalised); ``"0"`` when unset."""
    return str(values["string"]) or "0"


def _string_list_json(values: Mapping[str, Any], empty: bool) -> list[str] | None:
    """A Go ``[]string`` named type (ExtraValue, AttestationValue): a nil slice renders as ``null``."""
    items: list[str] = values["items"]
    return items or None


TIME: Final = Message("Time", (_f(1, "seconds", INT64), _f(2, "nanos", INT32)), _time_json)
MICRO_TIME: Final = Message("MicroTime", (_f(1, "seconds", INT64), _f(2, "nanos", INT32)), _micro_time_json)
FIELDS_V1: Final = Message("FieldsV1", (_f(1, "Raw", BYTES),), _fields_v1_json)
RAW_EXTENSION: Final = Message("RawExtension", (_f(1, "raw", BYTES),), _raw_extension_json)
INT_OR_STRING: Final = Message(
    "IntOrString", (_f(1, "type", INT64), _f(2, "intVal", INT32), _f(3, "strVal", STRING)), _int_or_string_json
)
QUANTITY: Final = Message("Quantity", (_f(1, "string", STRING),), _quantity_json)
EXTRA_VALUE: Final = Message("ExtraValue", (_rep(1, "items", STRING),), _string_list_json)
ATTESTATION_VALUE: Final = Message("AttestationValue", (_rep(1, "items", STRING),), _string_list_json)

# --------------------------------------------------------------------------------------------------
# meta/v1 (k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto)
# --------------------------------------------------------------------------------------------------

OWNER_REFERENCE: Final = Message(
    "OwnerReference",
    (
        _f(5, "apiVersion", STRING, omitempty=False),
        _f(1, "kind", STRING, omitempty=False),
        _f(3, "name", STRING, omitempty=False),
        _f(4, "uid", STRING, omitempty=False),
        _f(6, "controller", BOOL, ptr=True),
        _f(7, "blockOwnerDeletion", BOOL, ptr=True),
    ),
)

MANAGED_FIELDS_ENTRY: Final = Message(
    "ManagedFieldsEntry",
    (
        _f(1, "manager", STRING),
        _f(2, "operation", STRING),
        _f(3, "apiVersion", STRING),
        _f(4, "time", TIME, ptr=True),
        _f(6, "fieldsType", STRING),
        _f(7, "fieldsV1", FIELDS_V1, ptr=True),
        _f(8, "subresource", STRING),
    ),
)

OBJECT_META: Final = Message(
    "ObjectMeta",
    (
        _f(1, "name", STRING),
        _f(2, "generateName", STRING),
        _f(3, "namespace", STRING),
        _f(4, "selfLink", STRING),
        _f(5, "uid", STRING),
        _f(6, "resourceVersion", STRING),
        _f(7, "generation", INT64),
        _f(8, "creationTimestamp", TIME, omitzero=True),
        _f(9, "deletionTimestamp", TIME, ptr=True),
        _f(10, "deletionGracePeriodSeconds", INT64, ptr=True),
        _map(11, "labels", STRING),
        _map(12, "annotations", STRING),
        _rep(13, "ownerReferences", OWNER_REFERENCE),
        _rep(14, "finalizers", STRING),
        _rep(17, "managedFields", MANAGED_FIELDS_ENTRY),
    ),
)

PRECONDITIONS: Final = Message(
    "Preconditions",
    (
        _f(1, "uid", STRING, ptr=True),
        _f(2, "resourceVersion", STRING, ptr=True),
    ),
)

DELETE_OPTIONS: Final = Message(
    "DeleteOptions",
    (
        _f(1, "gracePeriodSeconds", INT64, ptr=True),
        _f(2, "preconditions", PRECONDITIONS, ptr=True),
        _f(3, "orphanDependents", BOOL, ptr=True),
        _f(4, "propagationPolicy", STRING, ptr=True),  # a string on the wire despite the Go tag saying varint
        _rep(5, "dryRun", STRING),
        _f(6, "ignoreStoreReadErrorWithClusterBreakingPotential", BOOL, ptr=True),
    ),
)

LABEL_SELECTOR_REQUIREMENT: Final = Message(
    "LabelSelectorRequirement",
    (
        _f(1, "key", STRING, omitempty=False),
        _f(2, "operator", STRING, omitempty=False),
        _rep(3, "values", STRING),
    ),
)

FIELD_SELECTOR_REQUIREMENT: Final = Message(
    "FieldSelectorRequirement",
    (
        _f(1, "key", STRING, omitempty=False),
        _f(2, "operator", STRING, omitempty=False),
        _rep(3, "values", STRING),
    ),
)

# --------------------------------------------------------------------------------------------------
# core/v1 (k8s.io/api/core/v1/generated.proto)
# --------------------------------------------------------------------------------------------------

OBJECT_REFERENCE: Final = Message(
    "ObjectReference",
    (
        _f(1, "kind", STRING),
        _f(2, "namespace", STRING),
        _f(3, "name", STRING),
        _f(4, "uid", STRING),
        _f(5, "apiVersion", STRING),
        _f(6, "resourceVersion", STRING),
        _f(7, "fieldPath", STRING),
    ),
)

LOCAL_OBJECT_REFERENCE: Final = Message("LocalObjectReference", (_f(1, "name", STRING),))

NAMESPACE: Final = Message(
    "Namespace",
    (
        _f(1, "metadata", OBJECT_META),
        _f(2, "spec", Message("NamespaceSpec", (_rep(1, "finalizers", STRING),))),
        _f(
            3,
            "status",
            Message(
                "NamespaceStatus",
                (
                    _f(1, "phase", STRING),
                    _rep(
                        2,
                        "conditions",
                        Message(
                            "NamespaceCondition",
                            (
                                _f(1, "type", STRING, omitempty=False),
                                _f(2, "status", STRING, omitempty=False),
                                _f(4, "lastTransitionTime", TIME),
                                _f(5, "reason", STRING),
                                _f(6, "message", STRING),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
)

CONFIG_MAP: Final = Message(
    "ConfigMap",
    (
        _f(1, "metadata", OBJECT_META),
        _f(4, "immutable", BOOL, ptr=True),
        _map(2, "data", STRING),
        _map(3, "binaryData", BYTES),
    ),
)

SECRET: Final = Message(
    "Secret",
    (
        _f(1, "metadata", OBJECT_META),
        _f(5, "immutable", BOOL, ptr=True),
        _map(2, "data", BYTES),
        _map(4, "stringData", STRING),
        _f(3, "type", STRING),
    ),
)

SERVICE_ACCOUNT: Final = Message(
    "ServiceAccount",
    (
        _f(1, "metadata", OBJECT_META),
        _rep(2, "secrets", OBJECT_REFERENCE),
        _rep(3, "imagePullSecrets", LOCAL_OBJECT_REFERENCE),
        _f(4, "automountServiceAccountToken", BOOL, ptr=True),
    ),
)

EVENT: Final = Message(
    "Event",
    (
        _f(1, "metadata", OBJECT_META),
        _f(2, "involvedObject", OBJECT_REFERENCE),
        _f(3, "reason", STRING),
        _f(4, "message", STRING),
        _f(5, "source", Message("EventSource", (_f(1, "component", STRING), _f(2, "host", STRING)))),
        _f(6, "firstTimestamp", TIME),
        _f(7, "lastTimestamp", TIME),
        _f(8, "count", INT32),
        _f(9, "type", STRING),
        _f(10, "eventTime", MICRO_TIME),
        _f(
            11,
            "series",
            Message("EventSeries", (_f(1, "count", INT32), _f(2, "lastObservedTime", MICRO_TIME))),
            ptr=True,
        ),
        _f(12, "action", STRING),
        _f(13, "related", OBJECT_REFERENCE, ptr=True),
        _f(14, "reportingComponent", STRING, omitempty=False),
        _f(15, "reportingInstance", STRING, omitempty=False),
    ),
)

# --------------------------------------------------------------------------------------------------
# authorization/v1 (k8s.io/api/authorization/v1/generated.proto)
# --------------------------------------------------------------------------------------------------

RESOURCE_ATTRIBUTES: Final = Message(
    "ResourceAttributes",
    (
        _f(1, "namespace", STRING),
        _f(2, "verb", STRING),
        _f(3, "group", STRING),
        _f(4, "version", STRING),
        _f(5, "resource", STRING),
        _f(6, "subresource", STRING),
        _f(7, "name", STRING),
        _f(
            8,
            "fieldSelector",
            Message(
                "FieldSelectorAttributes",
                (
                    _f(1, "rawSelector", STRING),
                    _rep(2, "requirements", FIELD_SELECTOR_REQUIREMENT),
                ),
            ),
            ptr=True,
        ),
        _f(
            9,
            "labelSelector",
            Message(
                "LabelSelectorAttributes",
                (
                    _f(1, "rawSelector", STRING),
                    _rep(2, "requirements", LABEL_SELECTOR_REQUIREMENT),
                ),
            ),
            ptr=True,
        ),
    ),
)

NON_RESOURCE_ATTRIBUTES: Final = Message("NonResourceAttributes", (_f(1, "path", STRING), _f(2, "verb", STRING)))

SUBJECT_ACCESS_REVIEW_STATUS: Final = Message(
    "SubjectAccessReviewStatus",
    (
        _f(1, "allowed", BOOL, omitempty=False),
        _f(4, "denied", BOOL),
        _f(2, "reason", STRING),
        _f(3, "evaluationError", STRING),
    ),
)

SUBJECT_ACCESS_REVIEW_SPEC: Final = Message(
    "SubjectAccessReviewSpec",
    (
        _f(1, "resourceAttributes", RESOURCE_ATTRIBUTES, ptr=True),
        _f(2, "nonResourceAttributes", NON_RESOURCE_ATTRIBUTES, ptr=True),
        _f(3, "user", STRING),
        _rep(4, "groups", STRING),
        _map(5, "extra", EXTRA_VALUE),
        _f(6, "uid", STRING),
    ),
)

SELF_SUBJECT_ACCESS_REVIEW: Final = Message(
    "SelfSubjectAccessReview",
    (
        _f(1, "metadata", OBJECT_META),
        _f(
            2,
            "spec",
            Message(
                "SelfSubjectAccessReviewSpec",
                (
                    _f(1, "resourceAttributes", RESOURCE_ATTRIBUTES, ptr=True),
                    _f(2, "nonResourceAttributes", NON_RESOURCE_ATTRIBUTES, ptr=True),
                ),
            ),
            omitempty=False,
        ),
        _f(3, "status", SUBJECT_ACCESS_REVIEW_STATUS),
    ),
)

SUBJECT_ACCESS_REVIEW: Final = Message(
    "SubjectAccessReview",
    (
        _f(1, "metadata", OBJECT_META),
        _f(2, "spec", SUBJECT_ACCESS_REVIEW_SPEC, omitempty=False),
        _f(3, "status", SUBJECT_ACCESS_REVIEW_STATUS),
    ),
)

SELF_SUBJECT_RULES_REVIEW: Final = Message(
    "SelfSubjectRulesReview",
    (
        _f(1, "metadata", OBJECT_META),
        _f(2, "spec", Message("SelfSubjectRulesReviewSpec", (_f(1, "namespace", STRING),)), omitempty=False),
        _f(
            3,
            "status",
            Message(
                "SubjectRulesReviewStatus",
                (
                    _rep(
                        1,
                        "resourceRules",
                        Message(
                            "ResourceRule",
                            (
                                _rep(1, "verbs", STRING, omitempty=False),
                                _rep(2, "apiGroups", STRING),
                                _rep(3, "resources", STRING),
                                _rep(4, "resourceNames", STRING),
                            ),
                        ),
                        omitempty=False,
                    ),
                    _rep(
                        2,
                        "nonResourceRules",
                        Message(
                            "NonResourceRule",
                            (
                                _rep(1, "verbs", STRING, omitempty=False),
                                _rep(2, "nonResourceURLs", STRING),
                            ),
                        ),
                        omitempty=False,
                    ),
                    _f(3, "incomplete", BOOL, omitempty=False),
                    _f(4, "evaluationError", STRING),
                ),
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------------
# authentication/v1 (k8s.io/api/authentication/v1/generated.proto)
# --------------------------------------------------------------------------------------------------

USER_INFO: Final = Message(
    "UserInfo",
    (
        _f(1, "username", STRING),
        _f(2, "uid", STRING),
        _rep(3, "groups", STRING),
        _map(4, "extra", EXTRA_VALUE),
    ),
)

SELF_SUBJECT_REVIEW: Final = Message(
    "SelfSubjectReview",
    (
        _f(1, "metadata", OBJECT_META),
        _f(2, "status", Message("SelfSubjectReviewStatus", (_f(1, "userInfo", USER_INFO),))),
    ),
)

TOKEN_REQUEST: Final = Message(
    "TokenRequest",
    (
        _f(1, "metadata", OBJECT_META),
        _f(
            2,
            "spec",
            Message(
                "TokenRequestSpec",
                (
                    _rep(1, "audiences", STRING, omitempty=False),
                    _f(4, "expirationSeconds", INT64, ptr=True, omitempty=False),
                    _f(
                        3,
                        "boundObjectRef",
                        Message(
                            "BoundObjectReference",
                            (
                                _f(1, "kind", STRING),
                                _f(2, "apiVersion", STRING),
                                _f(3, "name", STRING),
                                _f(4, "uid", STRING),  # "uID" in generated.proto, "uid" in JSON
                            ),
                        ),
                        ptr=True,
                        omitempty=False,
                    ),
                    _map(5, "attestations", ATTESTATION_VALUE),
                ),
            ),
            omitempty=False,
        ),
        _f(
            3,
            "status",
            Message(
                "TokenRequestStatus",
                (
                    _f(1, "token", STRING, omitempty=False),
                    _f(2, "expirationTimestamp", TIME, omitempty=False),
                ),
            ),
        ),
    ),
)

TOKEN_REVIEW: Final = Message(
    "TokenReview",
    (
        _f(1, "metadata", OBJECT_META),
        _f(
            2,
            "spec",
            Message("TokenReviewSpec", (_f(1, "token", STRING), _rep(2, "audiences", STRING))),
            omitempty=False,
        ),
        _f(
            3,
            "status",
            Message(
                "TokenReviewStatus",
                (
                    _f(1, "authenticated", BOOL),
                    _f(2, "user", USER_INFO),
                    _rep(4, "audiences", STRING),
                    _f(3, "error", STRING),
                ),
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------------
# coordination/v1 (k8s.io/api/coordination/v1/generated.proto)
# --------------------------------------------------------------------------------------------------

LEASE: Final = Message(
    "Lease",
    (
        _f(1, "metadata", OBJECT_META),
        _f(
            2,
            "spec",
            Message(
                "LeaseSpec",
                (
                    _f(1, "holderIdentity", STRING, ptr=True),
                    _f(2, "leaseDurationSeconds", INT32, ptr=True),
                    _f(3, "acquireTime", MICRO_TIME, ptr=True),
                    _f(4, "renewTime", MICRO_TIME, ptr=True),
                    _f(5, "leaseTransitions", INT32, ptr=True),
                    _f(6, "strategy", STRING, ptr=True),
                    _f(7, "preferredHolder", STRING, ptr=True),
                ),
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------------
# meta/v1 LabelSelector and rbac.authorization.k8s.io/v1 (k8s.io/api/rbac/v1/generated.proto)
# --------------------------------------------------------------------------------------------------

LABEL_SELECTOR: Final = Message(
    "LabelSelector",
    (
        _map(1, "matchLabels", STRING),
        _rep(2, "matchExpressions", LABEL_SELECTOR_REQUIREMENT),
    ),
)

POLICY_RULE: Final = Message(
    "PolicyRule",
    (
        _rep(1, "verbs", STRING, omitempty=False),
        _rep(2, "apiGroups", STRING),
        _rep(3, "resources", STRING),
        _rep(4, "resourceNames", STRING),
        _rep(5, "nonResourceURLs", STRING),
    ),
)

AGGREGATION_RULE: Final = Message("AggregationRule", (_rep(1, "clusterRoleSelectors", LABEL_SELECTOR),))

ROLE_REF: Final = Message(
    "RoleRef",
    (
        _f(1, "apiGroup", STRING, omitempty=False),
        _f(2, "kind", STRING, omitempty=False),
        _f(3, "name", STRING, omitempty=False),
    ),
)

RBAC_SUBJECT: Final = Message(
    "Subject",
    (
        _f(1, "kind", STRING, omitempty=False),
        _f(2, "apiGroup", STRING),
        _f(3, "name", STRING, omitempty=False),
        _f(4, "namespace", STRING),
    ),
)

ROLE: Final = Message("Role", (_f(1, "metadata", OBJECT_META), _rep(2, "rules", POLICY_RULE, omitempty=False)))

CLUSTER_ROLE: Final = Message(
    "ClusterRole",
    (
        _f(1, "metadata", OBJECT_META),
        _rep(2, "rules", POLICY_RULE, omitempty=False),
        _f(3, "aggregationRule", AGGREGATION_RULE, ptr=True),
    ),
)

ROLE_BINDING: Final = Message(
    "RoleBinding",
    (
        _f(1, "metadata", OBJECT_META),
        _rep(2, "subjects", RBAC_SUBJECT),
        _f(3, "roleRef", ROLE_REF, omitempty=False),
    ),
)


# --------------------------------------------------------------------------------------------------
# Envelope and kinds
# --------------------------------------------------------------------------------------------------

TYPE_META: Final = Message("TypeMeta", (_f(1, "apiVersion", STRING), _f(2, "kind", STRING)))
UNKNOWN: Final = Message(
    "Unknown",
    (
        _f(1, "typeMeta", TYPE_META),
        _f(2, "raw", BYTES),
        _f(3, "contentEncoding", STRING),
        _f(4, "contentType", STRING),
    ),
)

KINDS: Final[Mapping[tuple[str, str], Message]] = MappingProxyType(
    {
        ("v1", "Namespace"): NAMESPACE,
        ("v1", "ConfigMap"): CONFIG_MAP,
        ("v1", "Secret"): SECRET,
        ("v1", "ServiceAccount"): SERVICE_ACCOUNT,
        ("v1", "Event"): EVENT,
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): SELF_SUBJECT_ACCESS_REVIEW,
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): SELF_SUBJECT_RULES_REVIEW,
        ("authorization.k8s.io/v1", "SubjectAccessReview"): SUBJECT_ACCESS_REVIEW,
        ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): SUBJECT_ACCESS_REVIEW,
        ("authentication.k8s.io/v1", "SelfSubjectReview"): SELF_SUBJECT_REVIEW,
        ("authentication.k8s.io/v1", "TokenRequest"): TOKEN_REQUEST,
        ("authentication.k8s.io/v1", "TokenReview"): TOKEN_REVIEW,
        ("coordination.k8s.io/v1", "Lease"): LEASE,
        ("rbac.authorization.k8s.io/v1", "Role"): ROLE,
        ("rbac.authorization.k8s.io/v1", "ClusterRole"): CLUSTER_ROLE,
        ("rbac.authorization.k8s.io/v1", "RoleBinding"): ROLE_BINDING,
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ROLE_BINDING,
        # metav1.AddToGroupVersion registers the option kinds in every group version.
        (ANY_VERSION, "DeleteOptions"): DELETE_OPTIONS,
    }
)
"""``(apiVersion, kind)`` -> top-level message. ``ANY_VERSION`` matches every apiVersion."""


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------


def _wire_type_of(type_: Scalar | Message) -> WireType:
    if isinstance(type_, Message) or type_ in (Scalar.STRING, Scalar.BYTES):
        return WireType.LEN
    return WireType.VARINT


def _group(msg: Message, data: bytes, path: str) -> dict[int, list[int | bytes]]:
    """Parse ``data`` and collect the values of the known fields of ``msg`` by field number.

    Packed encodings of repeated varint fields are unpacked. Unknown fields are skipped.
    """
    grouped: dict[int, list[int | bytes]] = {}
    expected_of: dict[int, WireType] = {}  # per field number, worked out once per message
    for number, wire, value in _iter_wire(data):
        fd = msg.by_number.get(number)
        if fd is None:
            continue
        expected = expected_of.get(number)
        if expected is None:
            expected = WireType.LEN if fd.cardinality is Cardinality.MAP else _wire_type_of(fd.type)
            expected_of[number] = expected
        bucket = grouped.setdefault(number, [])
        if wire == expected:
            bucket.append(value)
        elif expected == WireType.VARINT and wire == WireType.LEN and fd.cardinality is Cardinality.REPEATED:
            assert isinstance(value, bytes)
            pos = 0
            while pos < len(value):
                item, pos = _read_varint(value, pos)
                bucket.append(item)
        else:
            raise _DecodeError(f"{path}.{fd.name}: wrong wire type {int(wire)} (expected {int(expected)})")
    return grouped


def _scalar(type_: Scalar, raw: int | bytes, path: str) -> Any:
    """Turn one wire value into the Python value of ``type_`` (bytes stay bytes)."""
    if type_ is Scalar.STRING:
        assert isinstance(raw, bytes)
        return raw.decode("utf-8", errors="replace")
    if type_ is Scalar.BYTES:
        assert isinstance(raw, bytes)
        return bytes(raw)
    assert isinstance(raw, int)
    if type_ is Scalar.BOOL:
        return raw != 0
    if type_ is Scalar.INT32:
        raw &= 0xFFFFFFFF
        return raw - (1 << 32) if raw >= 1 << 31 else raw
    return raw - (1 << 64) if raw >= 1 << 63 else raw  # INT64


def _json_scalar(type_: Scalar, value: Any) -> Any:
    return base64.b64encode(value).decode("ascii") if type_ is Scalar.BYTES else value


def _value(type_: Scalar | Message, raw: int | bytes, path: str, depth: int) -> Any:
    """JSON value of one occurrence of a field."""
    if isinstance(type_, Message):
        assert isinstance(raw, bytes)
        return _render(type_, raw, path, depth + 1)
    return _json_scalar(type_, _scalar(type_, raw, path))


def _map_entries(fd: Field, raws: list[int | bytes], path: str, depth: int) -> dict[str, Any]:
    """Decode ``map<string, V>`` entries (each a message {1: key, 2: value}); the last duplicate wins."""
    entry = fd.entry
    assert entry is not None
    out: dict[str, Any] = {}
    for raw in raws:
        assert isinstance(raw, bytes)
        grouped = _group(entry, raw, path)
        keys = grouped.get(1)
        key = _scalar(STRING, keys[-1], path) if keys else ""
        values = grouped.get(2)
        if isinstance(fd.type, Message):
            blob = b"".join(v for v in values or [] if isinstance(v, bytes))
            out[key] = _render(fd.type, blob, f"{path}[{key!r}]", depth + 1)
        else:
            native = _scalar(fd.type, values[-1], path) if values else _ZERO[fd.type]
            out[key] = _json_scalar(fd.type, native)
    return dict(sorted(out.items()))  # Go's encoding/json sorts map keys


def _render(msg: Message, data: bytes, path: str, depth: int) -> Any:
    """Decode one encoded message into its Go-JSON form (see the module docstring for the rules)."""
    if depth > _MAX_DEPTH:
        raise _DecodeError(f"{path}: nesting deeper than {_MAX_DEPTH} levels")
    grouped = _group(msg, data, path)
    if msg.convert is not None:
        return msg.convert(_natives(msg, grouped, path), not data)
    out: dict[str, Any] = {}
    for fd in msg.fields:
        raws = grouped.get(fd.number, [])
        fpath = f"{path}.{fd.name}"
        value: Any
        if fd.cardinality is Cardinality.MAP:
            value = _map_entries(fd, raws, fpath, depth) or None
            if value is None and fd.omitempty:
                continue
        elif fd.cardinality is Cardinality.REPEATED:
            value = [_value(fd.type, raw, f"{fpath}[{i}]", depth) for i, raw in enumerate(raws)] or None
            if value is None and fd.omitempty:
                continue
        elif not raws:
            if fd.pointer:  # nil pointer
                if fd.omitempty or fd.omitzero:
                    continue
                value = None
            elif isinstance(fd.type, Message):  # zero struct: always emitted unless omitzero
                if fd.omitzero:
                    continue
                value = _render(fd.type, b"", fpath, depth + 1)
            else:
                if fd.omitempty or fd.omitzero:
                    continue
                value = _json_scalar(fd.type, _ZERO[fd.type])
        elif isinstance(fd.type, Message):
            # Repeated occurrences of a message field merge, which is what concatenation means on the wire.
            value = _render(fd.type, b"".join(r for r in raws if isinstance(r, bytes)), fpath, depth + 1)
            if fd.omitzero and not fd.pointer and value == _render(fd.type, b"", fpath, depth + 1):
                continue
        else:
            native = _scalar(fd.type, raws[-1], fpath)
            if not fd.pointer and (fd.omitempty or fd.omitzero) and native == _ZERO[fd.type]:
                continue
            value = _json_scalar(fd.type, native)
        out[fd.name] = value
    return out


def _natives(msg: Message, grouped: dict[int, list[int | bytes]], path: str) -> dict[str, Any]:
    """Raw Python values of a special message's scalar fields: zero when absent, lists for repeated."""
    values: dict[str, Any] = {}
    for fd in msg.fields:
        assert isinstance(fd.type, Scalar)  # enforced by Message.__post_init__
        raws = grouped.get(fd.number, [])
        if fd.cardinality is Cardinality.REPEATED:
            values[fd.name] = [_scalar(fd.type, r, path) for r in raws]
        else:
            values[fd.name] = _scalar(fd.type, raws[-1], path) if raws else _ZERO[fd.type]
    return values


def decode_message(msg: Message, data: bytes) -> Any:
    """Decode the bytes of one ``msg`` (no envelope) into its JSON form.

    Raises BadRequest on malformed input. Meant for tests and for callers that already hold ``raw``.
    """
    try:
        return _render(msg, bytes(data), msg.name, 0)
    except _DecodeError as exc:
        raise BadRequest(f"unable to decode protobuf {msg.name}: {exc}") from None


def _lookup(api_version: str, kind: str) -> Message | None:
    return KINDS.get((api_version, kind)) or KINDS.get((ANY_VERSION, kind))


def _unknown_format(api_version: str, kind: str) -> BadRequest:
    what = f'kind "{kind}" in version "{api_version}"' if kind else "an object without a kind"
    return BadRequest(
        "the body of the request was in an unknown format - accepted media types include: "
        f"application/json, application/yaml ({PROTOBUF_MEDIA_TYPE} is accepted for built-in kinds only, "
        f"and {what} is not one of them)"
    )


def _decode_envelope(body: bytes) -> dict[str, Any]:
    """Decode ``k8s\\x00`` + Unknown; raise _DecodeError, or BadRequest for an unsupported kind."""
    if not body.startswith(MAGIC):
        raise _DecodeError(f"the body does not start with the protobuf magic number {MAGIC!r}")
    envelope = _group(UNKNOWN, body[len(MAGIC) :], "Unknown")
    type_meta_raw = b"".join(r for r in envelope.get(1, []) if isinstance(r, bytes))
    type_meta = _group(TYPE_META, type_meta_raw, "Unknown.typeMeta")

    def text(grouped: dict[int, list[int | bytes]], number: int) -> str:
        raws = grouped.get(number)
        return _scalar(STRING, raws[-1], "Unknown") if raws else ""

    api_version, kind = text(type_meta, 1), text(type_meta, 2)
    encoding, content_type = text(envelope, 3), text(envelope, 4)
    if encoding:
        raise _DecodeError(f"unsupported contentEncoding {encoding!r}")
    if content_type and content_type.split(";")[0].strip() != PROTOBUF_MEDIA_TYPE:
        raise _DecodeError(f"unsupported contentType {content_type!r} inside the protobuf envelope")
    msg = _lookup(api_version, kind)
    if msg is None:
        raise _unknown_format(api_version, kind)
    raws = envelope.get(2, [])
    raw = raws[-1] if raws else b""
    assert isinstance(raw, bytes)
    obj = _render(msg, raw, kind, 1)
    return {"apiVersion": api_version, "kind": kind, **obj}


def decode(body: bytes) -> dict[str, Any]:
    """Decode a Kubernetes protobuf request body into the equivalent JSON-shaped dict.

    ``body`` is the raw request body (``b"k8s\\x00"`` + ``runtime.Unknown``). The result carries
    ``apiVersion`` and ``kind`` from the envelope's typeMeta, followed by the object's fields rendered as
    Go's JSON encoder would (module docstring). It never checks that the kind fits the URL; callers do.

    Raises :class:`kube.errors.BadRequest` (and nothing else) when the magic number is missing, the wire
    data is truncated or malformed, an embedded JSON field is invalid, or the apiVersion/kind is not in
    :data:`KINDS`.
    """
    try:
        return _decode_envelope(bytes(body))
    except _DecodeError as exc:
        raise BadRequest(f"unable to decode protobuf request body: {exc}") from None
