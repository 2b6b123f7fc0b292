"""/openapi/v2: a Swagger 2.0 document without definitions, JSON or gnostic protobuf."""

from __future__ import annotations

from tests.conftest import Api


def _fields(data: bytes) -> list[tuple[int, bytes]]:
    """Top-level length-delimited fields of a protobuf message (all this document uses)."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        assert key & 7 == 2, "only length-delimited fields are expected"
        size, i = _varint(data, i)
        out.append((key >> 3, data[i : i + size]))
        i += size
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def test_openapi_v2_json_and_protobuf(api: Api) -> None:
    doc = api.get("/openapi/v2").json()
    assert doc["swagger"] == "2.0" and doc["paths"] == {} and doc["info"]["title"]
    proto = api.get("/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert proto["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    fields = dict(_fields(proto.content))
    assert fields[1] == b"2.0" and fields[8] == b""
    info = dict(_fields(fields[2]))
    assert info[1] == doc["info"]["title"].encode() and info[2] == doc["info"]["version"].encode()


def test_openapi_v2_needs_credentials(anonymous: Api) -> None:
    assert anonymous.get("/openapi/v2").status_code == 401
