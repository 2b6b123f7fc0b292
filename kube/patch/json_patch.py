"""JSON Patch (RFC 6902, `application/json-patch+json`).

Contract, following the apiserver's handler (`k8s.io/apiserver/pkg/endpoints/handlers/patch.go`):

- a body that does not decode as a list of operation objects -> 400 BadRequest;
- more than 10,000 operations -> 413 RequestEntityTooLarge;
- an operation that fails (a `test` mismatch, a missing path, an unknown `op`) -> 422 Invalid with
  the apiserver's generic message; the library's detail is kept as a cause so it is not lost;
- a result that is not a JSON object -> 422 Invalid;
- `copy` operations that together copy more than `MAX_ACCUMULATED_COPY_BYTES` (the apiserver's
  JSONPatchMaxCopyBytes, its request size limit) -> 422 Invalid: sixty copies of a list onto
  itself would otherwise double it sixty times.

Nothing is special-cased: `/metadata/managedFields` and `/metadata/resourceVersion` can be
replaced like any other path (kubectl's client-side to server-side apply migration does exactly
that). Interpreting such writes is the caller's job (`kube.patch.apply.update_managed_fields`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer
import orjson

from kube import errors

MAX_OPERATIONS = 10000
MAX_ACCUMULATED_COPY_BYTES = 3 * 1024 * 1024
REJECTED = "the server rejected our request due to an error in our request"

_JSON_KINDS = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def apply_json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply `ops` to a copy of `obj` and return the result; `obj` is not modified."""
    if ops is None:  # Go decodes `null` as an empty patch
        return copy.deepcopy(obj)
    if not isinstance(ops, list):
        raise errors.BadRequest(f"json: cannot unmarshal {_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise errors.BadRequest(f"json: cannot unmarshal {_kind(op)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_OPERATIONS:
        raise errors.RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(ops)}"
        )
    doc: Any = copy.deepcopy(obj)
    copied = 0
    for op in ops:
        try:
            if _is_vacuous_test(doc, op):
                continue
            if op.get("op") == "copy" and (source := _copy_source(doc, op)) is not None:
                duplicate, size = source
                copied += size
                if copied > MAX_ACCUMULATED_COPY_BYTES:
                    raise _rejected(
                        f"Unable to complete the copy, the accumulated size increase of copy is {copied}, "
                        f"exceeding the limit {MAX_ACCUMULATED_COPY_BYTES}"
                    )
                # What the library's copy does after its own deep copy (whose cost, at ~2 µs per
                # value, dominated a patch that copies much): insert our copy without another.
                add = jsonpatch.AddOperation({"op": "add", "path": op.get("path")})
                doc = add._add(doc, duplicate)  # type: ignore[attr-defined]  # what CopyOperation calls
                continue
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except (
            jsonpatch.JsonPatchException,
            jsonpointer.JsonPointerException,
            TypeError,
            ValueError,
            KeyError,
            IndexError,
        ) as exc:
            raise _rejected(str(exc) or type(exc).__name__) from exc
    if not isinstance(doc, dict):
        raise _rejected("the patched document is not a JSON object")
    return doc


def _copy_source(doc: Any, op: dict[str, Any]) -> tuple[Any, int] | None:
    """A fresh copy of what a `copy` operation copies, with its size in bytes (compact JSON), or
    None when `from` does not resolve (the library then fails the operation as it would). Copied
    through JSON text: a tenth of the cost of `copy.deepcopy`, and it measures the size too."""
    source = op.get("from")
    if not isinstance(source, str) or not isinstance(op.get("path"), str):
        return None
    try:
        value = jsonpointer.resolve_pointer(doc, source)
    except jsonpointer.JsonPointerException:
        return None
    try:
        text = orjson.dumps(value)
        duplicate = orjson.loads(text)
    except TypeError:  # integers beyond 64 bits
        text = json.dumps(value).encode()
        duplicate = json.loads(text)
    return duplicate, len(text)


def _is_vacuous_test(doc: Any, op: dict[str, Any]) -> bool:
    """`{"op":"test","path":<missing>,"value":null}` succeeds in Go's json-patch (v4), which the
    apiserver uses; python-jsonpatch would fail it."""
    if op.get("op") != "test" or op.get("value", 0) is not None or not isinstance(op.get("path"), str):
        return False
    try:
        jsonpointer.resolve_pointer(doc, op["path"])
    except jsonpointer.JsonPointerException:
        return True
    return False


def _rejected(detail: str) -> errors.Invalid:
    return errors.Invalid(REJECTED, causes=[errors.Cause("FieldValueInvalid", detail, "patch")])


def _kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), "null" if value is None else type(value).__name__)
