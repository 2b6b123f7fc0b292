"""Protobuf wire primitives: varints, field keys, and the iteration over one encoded message.

Knows nothing of Kubernetes types; the table-driven decoder (``codec``) sits on top. Errors are
:class:`DecodeError`, which the public entry points turn into ``BadRequest``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Final

__all__ = ["MAGIC", "DecodeError", "WireType", "iter_wire", "read_varint"]

MAGIC: Final = b"k8s\x00"
"""The four bytes before every Kubernetes protobuf object (and before an embedded one in a RawExtension)."""


class DecodeError(Exception):
    """Malformed input. ``decode``/``decode_message`` turn it into a BadRequest naming the kind."""


class WireType(enum.IntEnum):
    """Protobuf wire types (groups, 3 and 4, are never used by Kubernetes and are rejected)."""

    VARINT = 0
    I64 = 1
    LEN = 2
    I32 = 5


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read an unsigned varint at ``pos``; return ``(value mod 2**64, next position)``."""
    if pos < len(data) and data[pos] < 0x80:  # one byte: most keys and lengths
        return data[pos], pos + 1
    result = 0
    shift = 0
    end = len(data)
    while True:
        if shift >= 70:
            raise DecodeError("varint overflows 64 bits")
        if pos >= end:
            raise DecodeError("unexpected end of data inside a varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos


def iter_wire(data: bytes) -> Iterator[tuple[int, WireType, int | bytes]]:
    """Yield ``(field number, wire type, value)`` for each field of one encoded message.

    ``value`` is an ``int`` for VARINT/I64/I32 (unsigned) and ``bytes`` for LEN.
    Raises DecodeError on truncation, field number 0, or an unsupported wire type.
    """
    pos = 0
    end = len(data)
    read = read_varint
    varint, length_delimited = WireType.VARINT, WireType.LEN
    while pos < end:
        # One-byte keys and lengths (nearly all of them) read inline: a body can hold half a
        # million fields, and two calls per field were most of decoding it.
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = read(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise DecodeError(f"illegal field number {number}")
        if wire == 2:
            if pos < end and data[pos] < 0x80:
                length = data[pos]
                pos += 1
            else:
                length, pos = read(data, pos)
            if length > end - pos:
                raise DecodeError(f"field {number}: length {length} runs past the end of the data")
            yield number, length_delimited, data[pos : pos + length]
            pos += length
        elif wire == 0:
            value, pos = read(data, pos)
            yield number, varint, value
        elif wire == WireType.I64:
            if end - pos < 8:
                raise DecodeError(f"field {number}: truncated fixed64")
            yield number, WireType.I64, int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire == WireType.I32:
            if end - pos < 4:
                raise DecodeError(f"field {number}: truncated fixed32")
            yield number, WireType.I32, int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        else:
            raise DecodeError(f"field {number}: unsupported wire type {wire}")
