"""The ``k8s\\x00`` envelope: a request body -> runtime.Unknown -> the object's table -> its JSON form.

``decode`` is the package's entry point for request bodies (``kube.endpoints.negotiation``).
"""

from __future__ import annotations

from typing import Any, Final

from kube.errors import BadRequest

from .codec import group, render, scalar
from .kinds import ANY_VERSION
from .model import Message, Scalar
from .tables import KINDS, TYPE_META, UNKNOWN
from .wire import MAGIC, DecodeError

__all__ = ["PROTOBUF_MEDIA_TYPE", "decode"]

PROTOBUF_MEDIA_TYPE: Final = "application/vnd.kubernetes.protobuf"
STRING: Final = Scalar.STRING


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
    """Decode ``k8s\\x00`` + Unknown; raise DecodeError, or BadRequest for an unsupported kind."""
    if not body.startswith(MAGIC):
        raise DecodeError(f"the body does not start with the protobuf magic number {MAGIC!r}")
    envelope = group(UNKNOWN, body[len(MAGIC) :], "Unknown")
    type_meta_raw = b"".join(r for r in envelope.get(1, []) if isinstance(r, bytes))
    type_meta = group(TYPE_META, type_meta_raw, "Unknown.typeMeta")

    def text(grouped: dict[int, list[int | bytes]], number: int) -> str:
        raws = grouped.get(number)
        return scalar(STRING, raws[-1], "Unknown") if raws else ""

    api_version, kind = text(type_meta, 1), text(type_meta, 2)
    encoding, content_type = text(envelope, 3), text(envelope, 4)
    if encoding:
        raise DecodeError(f"unsupported contentEncoding {encoding!r}")
    if content_type and content_type.split(";")[0].strip() != PROTOBUF_MEDIA_TYPE:
        raise DecodeError(f"unsupported contentType {content_type!r} inside the protobuf envelope")
    msg = _lookup(api_version, kind)
    if msg is None:
        raise _unknown_format(api_version, kind)
    raws = envelope.get(2, [])
    raw = raws[-1] if raws else b""
    assert isinstance(raw, bytes)
    obj = render(msg, raw, kind, 1)
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
    except DecodeError as exc:
        raise BadRequest(f"unable to decode protobuf request body: {exc}") from None
