"""The descriptor model the decoder runs on: a :class:`Message` of :class:`Field` entries.

A ``Message`` stands for one Go type: its protobuf field numbers and types (from the upstream
``.proto``, see ``upstream.py``) together with the Go facts the ``.proto`` does not carry (JSON names
where they differ, pointer fields, ``omitempty``/``omitzero``; see ``gojson.py``). ``tables.py``
builds them; ``codec.py`` interprets them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

__all__ = ["ZERO", "Cardinality", "Converter", "Field", "Message", "Scalar"]


class Scalar(enum.Enum):
    """Scalar protobuf types, with their JSON rendering."""

    STRING = "string"  # LEN, UTF-8 (invalid bytes -> U+FFFD)
    BYTES = "bytes"  # LEN, rendered as standard base64
    BOOL = "bool"  # VARINT
    INT32 = "int32"  # VARINT, two's complement truncated to 32 bits
    INT64 = "int64"  # VARINT, two's complement


ZERO: Final[Mapping[Scalar, Any]] = MappingProxyType(
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
