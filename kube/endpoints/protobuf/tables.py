"""The decoder's tables: :class:`Message` descriptors built from the generated upstream field tables.

``upstream.MESSAGES`` (generated from the vendored ``.proto``) gives every field's number, name, type,
label and the Go struct order; ``gojson`` adds what Go's JSON encoder needs beyond that and the
renderers of the special types. This module joins the two once, at import (about 70 small messages,
well under a millisecond), and exposes :data:`KINDS` for the envelope decoder.

Consistency is checked here rather than trusted: a ``gojson`` entry naming a message or field missing
from the generated tables, a converter for a message that is not in ``kinds.SPECIAL``, a scalar type
the codec does not implement, or a recursive message raise at import, so a careless refresh of the
vendored files fails every test instead of decoding wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from . import gojson, kinds, upstream
from .model import Cardinality, Converter, Field, Message, Scalar

__all__ = [
    "build",
    "FIELDS_V1",
    "INT_OR_STRING",
    "KINDS",
    "MESSAGES",
    "MICRO_TIME",
    "QUANTITY",
    "RAW_EXTENSION",
    "TIME",
    "TYPE_META",
    "UNKNOWN",
]

_SCALARS: Final[Mapping[str, Scalar]] = MappingProxyType({s.value: s for s in Scalar})
_CARDINALITY: Final[Mapping[str, Cardinality]] = MappingProxyType(
    {"optional": Cardinality.SINGULAR, "repeated": Cardinality.REPEATED, "map": Cardinality.MAP}
)


def build(
    descriptors: Mapping[str, upstream.Descriptor],
    go_fields: Mapping[str, Mapping[str, gojson.GoField]],
    converters: Mapping[str, Converter],
) -> dict[str, Message]:
    """One :class:`Message` per generated descriptor, sharing instances between references.

    Raises ValueError when ``go_fields`` or ``converters`` name what ``descriptors`` lack (see the module
    docstring). Called once below; public for the test that proves the refusal.
    """
    for name, overrides in go_fields.items():
        if name not in descriptors:
            raise ValueError(f"gojson names {name}, which the generated tables do not have")
        unknown = set(overrides) - {f[0] for f in descriptors[name]}
        if unknown:
            raise ValueError(f"gojson names fields {sorted(unknown)} of {name}, which it does not have")
    if set(converters) != set(kinds.SPECIAL):
        raise ValueError("gojson.CONVERTERS and kinds.SPECIAL must name the same messages")

    built: dict[str, Message] = {}
    in_progress: set[str] = set()

    def message(full_name: str) -> Message:
        done = built.get(full_name)
        if done is not None:
            return done
        if full_name in in_progress:
            raise ValueError(f"{full_name} is recursive; the decoder's tables must be finite")
        in_progress.add(full_name)
        overrides = go_fields.get(full_name, {})
        fields = []
        for name, number, label, type_name in descriptors[full_name]:
            go = overrides.get(name, gojson.DEFAULT)
            type_: Scalar | Message
            if type_name in _SCALARS:
                type_ = _SCALARS[type_name]
            elif type_name in descriptors:
                type_ = message(type_name)
            else:
                raise ValueError(f"{full_name}.{name}: type {type_name!r} is neither a supported scalar nor tabled")
            cardinality = _CARDINALITY[label]
            fields.append(
                Field(number, go.json_name or name, type_, cardinality, go.pointer, go.omitempty, go.omitzero)
            )
        convert = converters.get(full_name)
        built[full_name] = Message(full_name.rsplit(".", 1)[1], tuple(fields), convert)
        in_progress.discard(full_name)
        return built[full_name]

    for full_name in descriptors:
        message(full_name)
    return built


MESSAGES: Final[Mapping[str, Message]] = MappingProxyType(
    build(upstream.MESSAGES, gojson.GO_FIELDS, gojson.CONVERTERS)
)
"""Fully qualified protobuf name (``k8s.io.api.core.v1.ConfigMap``) -> its descriptor."""

KINDS: Final[Mapping[tuple[str, str], Message]] = MappingProxyType(
    {key: MESSAGES[name] for key, name in kinds.SERVED.items()}
)
"""``(apiVersion, kind)`` -> top-level message. ``kinds.ANY_VERSION`` matches every apiVersion."""

UNKNOWN: Final = MESSAGES[kinds.UNKNOWN]
TYPE_META: Final = MESSAGES["k8s.io.apimachinery.pkg.runtime.TypeMeta"]
TIME: Final = MESSAGES["k8s.io.apimachinery.pkg.apis.meta.v1.Time"]
MICRO_TIME: Final = MESSAGES["k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"]
FIELDS_V1: Final = MESSAGES["k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"]
RAW_EXTENSION: Final = MESSAGES["k8s.io.apimachinery.pkg.runtime.RawExtension"]
INT_OR_STRING: Final = MESSAGES["k8s.io.apimachinery.pkg.util.intstr.IntOrString"]
QUANTITY: Final = MESSAGES["k8s.io.apimachinery.pkg.api.resource.Quantity"]
