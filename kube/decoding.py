"""Decoding what a client sends, in one place: JSON and YAML documents (request bodies, patches,
the portal's editor, its websocket messages) and the text of URL paths and query parameters.

Two kinds of input are refused here, before anything else looks at them:

* Text holding a NUL character (U+0000, `\\u0000` in JSON, `%00` in a URL). PostgreSQL cannot hold
  it in `text` or `jsonb`: left in, it fails the first query it reaches as a 500, wherever that is.
  Refusing it at the decode boundary means no lookup, write or selector ever sees one. Kubernetes
  itself would store such a string in etcd; this server cannot, so the request is a 400
  BadRequest naming the field (or path, or query parameter) that holds it.
* YAML that costs the server more than the client: aliases (`*name`, the "billion laughs": 400
  bytes that expand to gigabytes), documents of more than `MAX_YAML_NODES` nodes (the YAML
  library builds every node in Python, about 3 µs each, where JSON decodes natively) and nesting
  deeper than `MAX_YAML_DEPTH`. One cheap pass over the parser's events checks all three before
  anything is built. JSON in a
  YAML body (what kubectl sends as an apply patch) is decoded as JSON, so neither limit applies to it.

Every refusal is a `kube.errors.StatusError` (BadRequest), never another exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
import yaml

from kube import errors

NUL = "\x00"

#: Nodes (scalars, sequences, mappings) one YAML document may have. A large real object (a CRD
#: with a big schema) has a few tens of thousands; building 100,000 costs about 0.3 s of CPU.
MAX_YAML_NODES = 100_000

#: Nesting one YAML document may have (real objects nest a few dozen levels). The loader builds
#: nodes recursively, three Python frames a level, on the stack the request already uses (under
#: the interpreter's 1,000 frames it gave out near 250), and libyaml's parser slows down more
#: than linearly with depth (20,000 levels: 0.6 s).
MAX_YAML_DEPTH = 100

_YAML_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
_YAML_COLLECTION_START = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_YAML_COLLECTION_END = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


# --- NUL characters ---------------------------------------------------------------------------------


def nul_refused(where: str) -> errors.BadRequest:
    """The one error for a NUL character: `where` names the field, path or parameter holding it."""
    message = f"{where}: Invalid value: must not contain NUL characters (\\u0000)"
    return errors.BadRequest(message, causes=[errors.Cause("FieldValueInvalid", message, where)])


def reject_nul_in_text(value: str, *, where: str) -> str:
    """`value` unchanged, or BadRequest when it holds a NUL character."""
    if NUL in value:
        raise nul_refused(_printable(where))
    return value


def reject_nul_in_parameters(parameters: Iterable[tuple[str, str]]) -> None:
    """Query parameters (name, value) as parsed: BadRequest naming the first one holding a NUL."""
    for name, value in parameters:
        if NUL in name or NUL in value:
            raise nul_refused(_printable(name) or "query parameter")


def reject_nul_in_document(document: Any) -> Any:
    """`document` (decoded JSON: dicts, lists, scalars) unchanged, or BadRequest naming the field of
    the first string or key holding a NUL. Iterative: depth costs no stack."""
    if isinstance(document, str):
        if NUL in document:
            raise nul_refused("<body>")
        return document
    # Containers only on the stack; strings are checked where they are met, and a field's path
    # is only spelled out for a container entered or a NUL found (bodies can hold 10^6 strings).
    pending: list[tuple[Any, str]] = [(document, "")]
    while pending:
        value, path = pending.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if NUL in str(key):
                    raise nul_refused(_field_path(path, str(key)))
                if isinstance(item, str):
                    if NUL in item:
                        raise nul_refused(_field_path(path, str(key)))
                elif isinstance(item, Mapping | list):
                    pending.append((item, _field_path(path, str(key))))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    if NUL in item:
                        raise nul_refused(f"{path}[{i}]")
                elif isinstance(item, Mapping | list):
                    pending.append((item, f"{path}[{i}]"))
    return document


def _field_path(parent: str, key: str) -> str:
    """Kubernetes' field path notation: `metadata.name`, `data[some.key]` (NULs shown escaped)."""
    if _IDENTIFIER.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{_printable(key)}]"


def _printable(text: str) -> str:
    return text.replace(NUL, "\\u0000")


# --- JSON ---------------------------------------------------------------------------------------------


def json_decode(body: bytes | str) -> Any:
    """A JSON document, or BadRequest (malformed, too deep, or holding a NUL)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise errors.BadRequest(f"the body of the request could not be decoded as JSON: {e}") from None
    escape: Any = "\\u0000" if isinstance(body, str) else b"\\u0000"
    if escape in body:  # raw NULs are not valid JSON; only the escape can put one in a string
        reject_nul_in_document(document)
    return document


# --- YAML ---------------------------------------------------------------------------------------------


def yaml_decode(body: bytes | str) -> Any:
    """The one YAML document of `body` as JSON values (YAML-only types such as dates become
    strings), or BadRequest: malformed, several documents, aliases, more than `MAX_YAML_NODES`
    nodes, or a NUL anywhere. A body that is JSON is decoded as JSON."""
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    if raw.lstrip()[:1] in (b"{", b"["):
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # YAML flow style, not JSON: the YAML parser decides
        else:
            if b"\\u0000" in raw:
                reject_nul_in_document(document)
            return document
    try:
        _check_yaml_events(raw)
        documents = [d for d in yaml.load_all(raw, Loader=yaml.CSafeLoader) if d is not None]
    except yaml.YAMLError as e:
        raise errors.BadRequest(f"error converting YAML to JSON: {e}") from None
    except RecursionError:
        raise errors.BadRequest("the request body is nested too deeply") from None
    if len(documents) != 1:
        raise errors.BadRequest("the request body must contain exactly one YAML document")
    try:
        document = orjson.loads(orjson.dumps(documents[0], default=str))
    except (TypeError, orjson.JSONEncodeError) as e:
        raise errors.BadRequest(f"error converting YAML to JSON: {e}") from None
    return reject_nul_in_document(document)


def _check_yaml_events(raw: bytes) -> None:
    """One pass over the parser's events (no objects built): refuse aliases and oversized documents
    before the loader builds anything. Anchors alone are harmless and allowed."""
    nodes = depth = 0
    for event in yaml.parse(raw, Loader=yaml.CSafeLoader):
        if isinstance(event, _YAML_COLLECTION_START):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise errors.BadRequest("the request body is nested too deeply")
        elif isinstance(event, _YAML_COLLECTION_END):
            depth -= 1
        if isinstance(event, yaml.AliasEvent):
            raise errors.BadRequest(
                f"error converting YAML to JSON: yaml: aliases are not allowed (*{event.anchor})"
            )
        if isinstance(event, _YAML_NODE_EVENTS):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise errors.BadRequest(
                    f"error converting YAML to JSON: the document has more than {MAX_YAML_NODES} nodes"
                )


# --- request lines and headers ---------------------------------------------------------------------------


def reject_nul_in_request(*, path: str, query_string: str, headers: Iterable[tuple[str, str]] = ()) -> None:
    """A request's decoded URL path, its raw query string and its headers (name, value): BadRequest
    when any of them holds a NUL (decoded from `%00` in the path or query), naming which."""
    reject_nul_in_text(path, where="the request path")
    if NUL in query_string or "%00" in query_string:
        reject_nul_in_parameters(parse_qsl(query_string, keep_blank_values=True))
    for name, value in headers:
        if NUL in value:
            raise nul_refused(f"header {_printable(name)}")
