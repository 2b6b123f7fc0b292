"""Bad values rendered like Go's `field.Error` (`%q` quoting, `json.Marshal` of non-strings, Go's float
format), and the cause helpers that use that rendering."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from kube.errors import Cause, FieldErrors

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def go_quote(s: str) -> str:
    """`s` as Go's `%q` prints it: double quotes, backslash escapes, printable Unicode kept as is."""
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x20 or cp == 0x7F:
                out.append(f"\\x{cp:02x}")
            elif 0xD800 <= cp <= 0xDFFF:  # a lone surrogate decodes to U+FFFD in Go
                out.append("\ufffd")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _go_json(value: Any, *, sort_keys: bool = True) -> str:
    """`json.Marshal` output: compact, map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.

    `sort_keys=False` keeps dict order, for values that stand for Go structs (fields in declaration order).
    """
    if _nested_deeper_than(value, 64):  # not worth printing, and Python versions differ on how deep json goes
        return f'"<{type(value).__name__}>"'
    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):  # not JSON, or nested beyond what is worth printing
        return f'"<{type(value).__name__}>"'
    text = _LONE_SURROGATE.sub(r"\\ufffd", text)  # Go replaces invalid UTF-16 with U+FFFD
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_bad_value(value: Any) -> str:
    """A bad value as `field.Error.ErrorBody` renders it: `%q` for strings, plain for numbers and booleans,
    JSON for everything else (so None is `null` and lists are `["a","b"]`)."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    return _go_json(value)


def _go_float(f: float) -> str:
    """Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits, exponent form when
    the exponent is below -4 or at least 6 (`1e+06`, `123456`, `1.5e-05`)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits))
    dp = len(ds) + exponent  # position of the decimal point relative to the digit string
    exp = dp - 1
    if exp < -4 or exp >= 6:
        mantissa = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        text = f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    elif dp <= 0:
        text = "0." + "0" * -dp + ds
    elif dp >= len(ds):
        text = ds + "0" * (dp - len(ds))
    else:
        text = ds[:dp] + "." + ds[dp:]
    return ("-" if sign else "") + text


def _invalid(errs: FieldErrors, path: str, value: Any, detail: str, *, rendered: str | None = None) -> None:
    shown = render_bad_value(value) if rendered is None else rendered
    errs.causes.append(Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path))


def _type_invalid(errs: FieldErrors, path: str, value: Any, type_name: str) -> None:
    errs.causes.append(
        Cause("FieldValueTypeInvalid", f"Invalid value: {render_bad_value(value)}: must be of type {type_name}", path)
    )


def _too_long(errs: FieldErrors, path: str, limit: int) -> None:
    errs.causes.append(Cause("FieldValueTooLong", f"Too long: may not be more than {limit} bytes", path))


def _go_string_slice(items: list[str]) -> str:
    """Go's `%#v` of a `[]string`, as in the no-new-finalizers message."""
    return "[]string{" + ", ".join(go_quote(s) for s in items) + "}"


def _go_lower(s: str) -> str:
    # Go lower-cases rune by rune; Python maps U+0130 to two code points, Go to plain 'i'.
    return "".join(ch.lower()[:1] for ch in s)
