"""The Go value model the validator reasons in, and Go-style rendering of values in error messages.

`_go_value(v)` classifies a JSON value as the Go value the apiserver's JSON decoder would have produced
(integers that fit int64 are int64, every other number float64), with the JSON type names kube-openapi's
`schemaInfoForType` uses (`_SCH_TYPE`, `_SCH_FORMAT`). `_go_json` and `_render` spell values the way Go's
encoding/json and the apiserver's error messages do.
"""

from __future__ import annotations

import json
import math
from typing import Any

from kube.meta_validation import render_bad_value

from .limits import _INT64_MAX, _INT64_MIN

# The JSON types the validator infers, as kube-openapi's `schemaInfoForType` names them, from the Go value the
# apiserver's JSON decoder would have produced: integers that fit int64 are int64, every other number float64.
_BOOL, _INT, _FLOAT, _STR, _LIST, _MAP, _OTHER = range(7)
_SCH_TYPE = {_BOOL: "boolean", _INT: "integer", _FLOAT: "number", _STR: "string", _LIST: "array", _MAP: "object"}
_SCH_FORMAT = {_INT: "int64", _FLOAT: "float64"}


def _go_value(v: Any) -> tuple[int, Any]:
    if v is True or v is False:
        return _BOOL, v
    if isinstance(v, str):
        return _STR, v
    if isinstance(v, int):
        if _INT64_MIN <= v <= _INT64_MAX:
            return _INT, int(v)
        try:
            return _FLOAT, float(v)
        except OverflowError:
            return _FLOAT, math.inf if v > 0 else -math.inf
    if isinstance(v, float):
        return _FLOAT, v
    if isinstance(v, dict):
        return _MAP, v
    if isinstance(v, list | tuple):
        return _LIST, v
    return _OTHER, v


def _go(v: Any) -> Any:
    """`v` as the Go decoder holds it (big integers become floats), for rendering."""
    if isinstance(v, int) and not isinstance(v, bool) and not _INT64_MIN <= v <= _INT64_MAX:
        return _go_value(v)[1]
    return v


def _render(v: Any) -> str:
    """A bad value as field.Error prints it: `%q` strings, `%v` numbers and booleans, JSON for the rest."""
    if isinstance(v, dict | list | tuple):
        return _go_json(v)
    return render_bad_value(_go(v))


def _go_v(v: Any) -> str:
    """Go's `%v` of a number, bool or string."""
    v = _go(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float | int):
        return render_bad_value(v)
    return str(v)


def _go_json_number(f: float) -> str:
    """encoding/json's float64 text: shortest digits, exponent form below 1e-6 and from 1e21."""
    if f.is_integer() and abs(f) < 1e21:
        return str(int(f))
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        text = repr(f)
        if "e" not in text:
            text = f"{f:e}"
        mant, _, exp = text.partition("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        return f"{mant}e{sign}{digits}"
    return repr(f)


def _go_json(v: Any) -> str:
    """encoding/json.Marshal of a decoded JSON value: compact, map keys sorted, Go number formatting, `<`, `>`
    and `&` escaped. Values nested beyond what is worth printing render as a placeholder."""
    return "".join(_go_json_parts(v, 0))


def _go_json_string(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _go_json_parts(v: Any, depth: int) -> list[str]:
    if depth > 64:
        return ['"<value>"']
    kind, gv = _go_value(v)
    if kind == _MAP:
        out = ["{"]
        for i, k in enumerate(sorted(gv, key=str)):
            if i:
                out.append(",")
            out.append(_go_json_string(str(k)))
            out.append(":")
            out.extend(_go_json_parts(gv[k], depth + 1))
        out.append("}")
        return out
    if kind == _LIST:
        out = ["["]
        for i, item in enumerate(gv):
            if i:
                out.append(",")
            out.extend(_go_json_parts(item, depth + 1))
        out.append("]")
        return out
    if kind == _FLOAT:
        return [_go_json_number(gv) if math.isfinite(gv) else "null"]
    if kind == _INT:
        return [str(gv)]
    if kind == _BOOL:
        return ["true" if gv else "false"]
    if kind == _STR:
        return [_go_json_string(gv)]
    if v is None:
        return ["null"]
    return [_go_json_string(str(v))]
