"""The generic, table-driven decoder: protobuf bytes of one :class:`Message` -> its Go-JSON form.

Nothing here knows a Kubernetes kind; everything kind-specific is in the tables (``tables.py``). The
rendering rules (``omitempty``, pointers, zero structs, merging of repeated message occurrences, map
key order, base64 for bytes, ...) are those of the package docstring.
"""

from __future__ import annotations

import base64
from typing import Any, Final

from kube.errors import BadRequest

from .model import ZERO, Cardinality, Field, Message, Scalar
from .wire import DecodeError, WireType, iter_wire, read_varint

__all__ = ["decode_message", "expected_wire_type", "group", "render", "scalar"]

_MAX_DEPTH: Final = 32  # nesting guard; tables.build refuses recursive messages, so this is a second line
STRING: Final = Scalar.STRING


def expected_wire_type(fd: Field) -> WireType:
    """The wire type ``fd`` is encoded with (a repeated VARINT field may also come packed, as LEN)."""
    if fd.cardinality is Cardinality.MAP or isinstance(fd.type, Message) or fd.type in (Scalar.STRING, Scalar.BYTES):
        return WireType.LEN
    return WireType.VARINT


def group(msg: Message, data: bytes, path: str) -> dict[int, list[int | bytes]]:
    """Parse ``data`` and collect the values of the known fields of ``msg`` by field number.

    Packed encodings of repeated varint fields are unpacked. Unknown fields are skipped.
    """
    grouped: dict[int, list[int | bytes]] = {}
    # per field number, worked out once per message: its field, wire type and bucket (None: unknown)
    known: dict[int, tuple[Field, WireType, list[int | bytes]] | None] = {}
    for number, wire, value in iter_wire(data):
        if number in known:
            entry = known[number]
        else:
            fd = msg.by_number.get(number)
            entry = None if fd is None else (fd, expected_wire_type(fd), grouped.setdefault(number, []))
            known[number] = entry
        if entry is None:
            continue
        fd, expected, bucket = entry
        if wire == expected:
            bucket.append(value)
        elif expected == WireType.VARINT and wire == WireType.LEN and fd.cardinality is Cardinality.REPEATED:
            assert isinstance(value, bytes)
            pos = 0
            while pos < len(value):
                item, pos = read_varint(value, pos)
                bucket.append(item)
        else:
            raise DecodeError(f"{path}.{fd.name}: wrong wire type {int(wire)} (expected {int(expected)})")
    return grouped


def scalar(type_: Scalar, raw: int | bytes, path: str) -> Any:
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
        return render(type_, raw, path, depth + 1)
    return _json_scalar(type_, scalar(type_, raw, path))


def _repeated(type_: Scalar | Message, raws: list[int | bytes], path: str, depth: int) -> list[Any]:
    """The JSON values of a repeated field. Strings, the common case (finalizers, args, names),
    decode in one comprehension: a body may hold half a million of them within the request limit,
    and a path string built per item cost more than decoding it."""
    if type_ is STRING:
        return [raw.decode("utf-8", errors="replace") for raw in raws if isinstance(raw, bytes)]
    return [_value(type_, raw, f"{path}[{i}]", depth) for i, raw in enumerate(raws)]


def _map_entries(fd: Field, raws: list[int | bytes], path: str, depth: int) -> dict[str, Any]:
    """Decode ``map<string, V>`` entries (each a message {1: key, 2: value}); the last duplicate wins."""
    entry = fd.entry
    assert entry is not None
    out: dict[str, Any] = {}
    for raw in raws:
        assert isinstance(raw, bytes)
        grouped = group(entry, raw, path)
        keys = grouped.get(1)
        key = scalar(STRING, keys[-1], path) if keys else ""
        values = grouped.get(2)
        if isinstance(fd.type, Message):
            blob = b"".join(v for v in values or [] if isinstance(v, bytes))
            out[key] = render(fd.type, blob, f"{path}[{key!r}]", depth + 1)
        else:
            native = scalar(fd.type, values[-1], path) if values else ZERO[fd.type]
            out[key] = _json_scalar(fd.type, native)
    return dict(sorted(out.items()))  # Go's encoding/json sorts map keys


def render(msg: Message, data: bytes, path: str, depth: int) -> Any:
    """Decode one encoded message into its Go-JSON form (see the module docstring for the rules)."""
    if depth > _MAX_DEPTH:
        raise DecodeError(f"{path}: nesting deeper than {_MAX_DEPTH} levels")
    grouped = group(msg, data, path)
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
            value = _repeated(fd.type, raws, fpath, depth) or None
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
                value = render(fd.type, b"", fpath, depth + 1)
            else:
                if fd.omitempty or fd.omitzero:
                    continue
                value = _json_scalar(fd.type, ZERO[fd.type])
        elif isinstance(fd.type, Message):
            # Repeated occurrences of a message field merge, which is what concatenation means on the wire.
            value = render(fd.type, b"".join(r for r in raws if isinstance(r, bytes)), fpath, depth + 1)
            if fd.omitzero and not fd.pointer and value == render(fd.type, b"", fpath, depth + 1):
                continue
        else:
            native = scalar(fd.type, raws[-1], fpath)
            if not fd.pointer and (fd.omitempty or fd.omitzero) and native == ZERO[fd.type]:
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
            values[fd.name] = [scalar(fd.type, r, path) for r in raws]
        else:
            values[fd.name] = scalar(fd.type, raws[-1], path) if raws else ZERO[fd.type]
    return values


def decode_message(msg: Message, data: bytes) -> Any:
    """Decode the bytes of one ``msg`` (no envelope) into its JSON form.

    Raises BadRequest on malformed input. Meant for tests and for callers that already hold ``raw``.
    """
    try:
        return render(msg, bytes(data), msg.name, 0)
    except DecodeError as exc:
        raise BadRequest(f"unable to decode protobuf {msg.name}: {exc}") from None
