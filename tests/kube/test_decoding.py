"""kube.decoding: the one decoder of JSON and YAML documents and of request text."""

from __future__ import annotations

from typing import Any

import pytest

from kube import errors
from kube.decoding import (
    MAX_YAML_NODES,
    json_decode,
    reject_nul_in_document,
    reject_nul_in_request,
    yaml_decode,
)


def nul_field(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(errors.BadRequest) as e:
        fn(*args, **kwargs)
    assert e.value.code == 400 and "NUL" in e.value.message
    return e.value.causes[0].field


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"metadata": {"name": "a\x00"}}, "metadata.name"),
        ({"data": {"some.key": "\x00"}}, "data[some.key]"),
        ({"data": {"k\x00": "v"}}, "data[k\\u0000]"),
        ({"spec": {"containers": [{"args": ["ok", "x\x00"]}]}}, "spec.containers[0].args[1]"),
        (["\x00"], "[0]"),
        ("\x00", "<body>"),
    ],
)
def test_nul_is_found_and_its_field_named(document: Any, field: str) -> None:
    assert nul_field(reject_nul_in_document, document) == field


def test_documents_without_nul_pass_unchanged() -> None:
    doc = {"a": [1, 2.5, None, True, {"b": "\\u0000 is six characters here"}]}
    assert reject_nul_in_document(doc) is doc
    assert json_decode(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}  # an escaped backslash, not a NUL


def test_json_decode() -> None:
    assert json_decode(b'{"a": [1]}') == {"a": [1]}
    assert nul_field(json_decode, b'{"a": ["\\u0000"]}') == "a[0]"
    with pytest.raises(errors.BadRequest, match="could not be decoded as JSON"):
        json_decode(b"{")


def test_yaml_decode_reads_yaml_and_json_alike() -> None:
    assert yaml_decode(b"a: 1\nb: [x, 'y']\nc: 2024-01-02\n") == {"a": 1, "b": ["x", "y"], "c": "2024-01-02"}
    assert yaml_decode(b'{"a": 1}') == {"a": 1}
    assert yaml_decode(b"{a: 1}") == {"a": 1}  # flow YAML, not JSON
    assert yaml_decode(b"a: &anchor 1\n") == {"a": 1}  # anchors alone are harmless


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"a: &x [1]\nb: *x\n", "aliases are not allowed"),
        (b"a: &x {k: v}\nb: {<<: *x}\n", "aliases are not allowed"),  # merge keys are aliases too
        (b"[" + b"a," * MAX_YAML_NODES + b"a]", f"more than {MAX_YAML_NODES} nodes"),  # JSON would be read as JSON
        (b"a: " + b"[" * 1000 + b"]" * 1000, "nested too deeply"),
        (b"a: 1\n---\nb: 2\n", "exactly one YAML document"),
        (b"a: [", "error converting YAML to JSON"),
        (b'a: "\\0"', "NUL"),
        (b"a: !!python/object:os.system x", "error converting YAML to JSON"),
    ],
)
def test_yaml_decode_refuses(body: bytes, says: str) -> None:
    with pytest.raises(errors.BadRequest, match=says):
        yaml_decode(body)


def test_request_text() -> None:
    reject_nul_in_request(path="/api/v1/namespaces", query_string="labelSelector=a%3Db", headers=[("Accept", "*/*")])
    assert nul_field(reject_nul_in_request, path="/a\x00", query_string="") == "the request path"
    assert nul_field(reject_nul_in_request, path="/", query_string="x=1&limit=%00") == "limit"
    assert nul_field(reject_nul_in_request, path="/", query_string="", headers=[("X-A", "\x00")]) == "header X-A"
