"""``/openapi/v2``: a Swagger 2.0 document without definitions, as JSON or gnostic protobuf."""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI_V2_PROTOBUF", "OPENAPI_V2_PROTOBUF_RESPONSE", "openapi_v2", "openapi_v2_protobuf"]

JSON = dict[str, Any]

OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#: what the answer is labelled: the Accept value is not a valid media type ('@'), and Go's
#: mime parser (client-go) rejects a response labelled with it.
OPENAPI_V2_PROTOBUF_RESPONSE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def openapi_v2(title: str, version: str) -> JSON:
    """`/openapi/v2`: a valid Swagger 2.0 document without definitions. The schemas live in
    OpenAPI v3 (every client we serve reads v3); kubectl still reads v2 to validate a `v1 List`
    client-side, where kinds without a definition are skipped and each item is validated by the
    server as it is created. Without any v2 such inputs fail with "failed to download openapi"."""
    return {"swagger": "2.0", "info": {"title": title, "version": version}, "paths": {}}


def openapi_v2_protobuf(title: str, version: str) -> bytes:
    """The same document in gnostic's openapi_v2.Document wire format (the only form kubectl
    accepts): swagger (1), info (2: title 1, version 2), paths (8, empty)."""

    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    info = field(1, title.encode()) + field(2, version.encode())
    return field(1, b"2.0") + field(2, info) + field(8, b"")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
