"""OpenAPI v3 validation: kube-openapi's SchemaValidator, reported as the apiextensions-apiserver reports it.

`_VALIDATOR.run(node, value, name, depth)` validates a value against a compiled node and returns kube-openapi's
errors (`_Err`: message, reason, field name or None, cause body) with a match count, which picks the
best-matching failing branch of anyOf/oneOf as kube-openapi's MatchCount does. It runs every validator
whatever the type and infers the JSON type of numbers the Go way. `_to_causes` turns the errors into Status
causes worded as the apiserver words them (`spec.size: Invalid value: -1: spec.size in body should be greater
than or equal to 0`). Nesting deeper than `MAX_DEPTH` is not validated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kube.errors import Cause, FieldErrors
from kube.meta_validation import go_quote

from .compiled import _Node
from .formats import _FORMAT_CHECKS
from .govalues import (
    _FLOAT,
    _INT,
    _LIST,
    _MAP,
    _OTHER,
    _SCH_FORMAT,
    _SCH_TYPE,
    _STR,
    _go_json,
    _go_v,
    _go_value,
    _render,
)
from .limits import _INT64_MAX, _INT64_MIN, MAX_DEPTH

_MAX_SAFE_INTEGER = float(2**53 - 1)


# One error: (message, reason, name or None for "no field" errors, body). The message is what kube-openapi's
# error prints (results are de-duplicated on it); name is the kube-openapi path the field is derived from;
# body is the cause message.
_Err = tuple[str, str, str | None, str]

_R_INVALID = "FieldValueInvalid"
_R_TYPE = "FieldValueTypeInvalid"


def _e_invalid(name: str, value: Any, msg: str) -> _Err:
    return msg, _R_INVALID, name, f"Invalid value: {_render(value)}: {msg}"


def _e_type(name: str, type_name: str, value: str) -> _Err:
    msg = f"{name} in body must be of type {type_name}: {go_quote(value)}"
    return msg, _R_TYPE, name, f"Invalid value: {go_quote(value)}: {msg}"


def _e_plain(msg: str) -> _Err:
    return msg, _R_INVALID, None, f'Invalid value: "": {msg}'


def _e_required(name: str) -> _Err:
    return f"{name} in body is required", "FieldValueRequired", name, "Required value"


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _e_too_many(name: str, msg: str, actual: int, limit: int) -> _Err:
    return (
        msg,
        "FieldValueTooMany",
        name,
        f"Too many: {actual}: must have at most {limit} " + _plural(limit, "item", "items"),
    )


def _go_int64(f: float) -> int:
    """Go's int64(f) on amd64: truncation, and MinInt64 for anything out of range."""
    if not math.isfinite(f) or not _INT64_MIN <= f < 2.0**63:
        return _INT64_MIN
    return int(f)


def _is_json_integer(f: float) -> bool:
    """go-openapi's IsFloat64AJSONInteger: integral (within 1e-9 relative) and within ±(2^53-1)."""
    if not math.isfinite(f) or abs(f) > _MAX_SAFE_INTEGER:
        return False
    rounded = round(f)
    if f == rounded:
        return True
    if rounded == 0:
        return False
    return abs(f - rounded) < 1e-9 * abs(rounded)


_FLOAT32_LIMIT = 3.4028235677973366e38  # values at least this large round to ±Inf in float32


def _range_error(value: int | float, is_int: bool, typ: str, fmt: str, prefix: str, name: str) -> str | None:
    """kube-openapi's IsValueValidAgainstRange: can the number's text parse as the declared type/format?"""
    ok = True
    if typ == "integer":
        if is_int:
            iv: int | None = int(value)
        else:
            fv = float(value)
            iv = int(fv) if math.isfinite(fv) and fv.is_integer() and _INT64_MIN <= fv < 2.0**63 else None
        if iv is None:
            ok = False
        elif fmt == "int32":
            ok = -(2**31) <= iv < 2**31
        else:
            ok = _INT64_MIN <= iv <= _INT64_MAX
    elif fmt == "float":
        ok = math.isfinite(float(value)) and abs(float(value)) < _FLOAT32_LIMIT
    if ok:
        return None
    if fmt:
        return f"{prefix} value must be of type {typ} with format {fmt} in {name}"
    return f"{prefix} value must be of type {typ} (default format) in {name}"


def _go_equal(a: Any, b: Any) -> bool:
    """reflect.DeepEqual on values the Go JSON decoder produced (int64 and float64 are different types)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        kx, gx = _go_value(x)
        ky, gy = _go_value(y)
        if kx != ky:
            if not (x is None and y is None):
                return False
            continue
        if kx == _MAP:
            if len(gx) != len(gy) or gx.keys() != gy.keys():
                return False
            stack.extend((gx[k], gy[k]) for k in gx)
        elif kx == _LIST:
            if len(gx) != len(gy):
                return False
            stack.extend(zip(gx, gy, strict=True))
        elif kx == _OTHER:
            if x is not y and x != y:
                return False
        elif gx != gy:
            return False
    return True


def _enum_matches(data: Any, ev: Any) -> bool:
    """kube-openapi's enum check: the datum converted (Go conversion rules) to the enum value's type, then
    DeepEqual. So 3.7 matches an integer enum value 3, and 65 a string enum value "A", as upstream."""
    if ev is None:
        return False
    kd, gd = _go_value(data)
    ke, ge = _go_value(ev)
    if kd == ke:
        return _go_equal(data, ev)
    if ke == _INT and kd == _FLOAT:
        return bool(_go_int64(gd) == ge)
    if ke == _FLOAT and kd == _INT:
        return bool(float(gd) == ge)
    if ke == _STR and kd == _INT:
        return bool((chr(gd) if 0 <= gd <= 0x10FFFF and not 0xD800 <= gd <= 0xDFFF else "\ufffd") == ge)
    return False


def _enum_text(v: Any) -> str:
    """How an allowed value is listed in `supported values`: strings as they are, others as JSON."""
    return v if isinstance(v, str) else _go_json(v)


class _Validator:
    """kube-openapi's validation of one value against a compiled node.

    `run` returns the errors and a match count (how much of the schema the value satisfied), which picks the
    "best" failing branch of anyOf/oneOf, as kube-openapi's MatchCount does."""

    __slots__ = ()

    def run(self, node: _Node, data: Any, name: str, depth: int) -> tuple[list[_Err], int]:
        errs: list[_Err] = []
        if depth > MAX_DEPTH:
            return errs, 1
        count = 0
        if data is None:
            if node.types and not node.nullable:
                errs.append(_e_type(name, node.type_name, "null"))
            if node.enum is not None:
                errs.append(self._enum_error(name, data, node.enum))
            return errs, 2
        kind, value = _go_value(data)
        if node.types or node.format:
            count += 1
            self._check_type(node, kind, value, name, errs)
        count += 1
        if node.has_composites:
            count += self._composites(node, data, name, depth, errs)
        if kind == _STR:
            count += 1
            self._check_string(node, value, name, errs)
            if node.format:
                check = _FORMAT_CHECKS.get(node.format.replace("-", ""))
                if check is not None:
                    count += 1
                    if not check(value):
                        msg = f"{name} in body must be of type {node.format}: {go_quote(value)}"
                        errs.append((msg, _R_TYPE, name, f"Invalid value: {go_quote(value)}: {msg}"))
        elif kind == _INT or kind == _FLOAT:
            count += 1
            self._check_number(node, kind == _INT, value, name, errs)
        elif kind == _LIST:
            count += 1
            count += self._check_array(node, value, name, depth, errs)
        if node.enum is not None:
            count += 1
            for ev in node.enum:
                if _enum_matches(value, ev):
                    break
            else:
                errs.append(self._enum_error(name, value, node.enum))
        if kind == _MAP:
            count += 1
            count += self._check_object(node, value, name, depth, errs)
        return errs, count

    @staticmethod
    def _enum_error(name: str, value: Any, enum: list[Any]) -> _Err:
        supported = ", ".join(go_quote(_enum_text(v)) for v in enum)
        msg = f"{name} in body should be one of {enum!r}"
        return (
            msg,
            "FieldValueNotSupported",
            name,
            f"Unsupported value: {_render(value)}: supported values: " + (supported),
        )

    @staticmethod
    def _check_type(node: _Node, kind: int, value: Any, name: str, errs: list[_Err]) -> None:
        types = node.types
        sch_type = _SCH_TYPE.get(kind, "")
        is_float_int = kind == _FLOAT and "integer" in types and _is_json_integer(value)
        is_int_float = kind == _INT and "number" in types
        fmt = node.format
        if kind not in (_STR, _LIST) and fmt:
            inferred = _SCH_FORMAT.get(kind, "")
            if not (sch_type in types or inferred == fmt or is_float_int or is_int_float):
                errs.append(_e_type(name, fmt, inferred))
                return
        if fmt and "number" not in types and "integer" not in types and kind in (_STR, _LIST):
            return
        if not (sch_type in types or is_float_int or is_int_float):
            errs.append(_e_type(name, node.type_name, sch_type))

    @staticmethod
    def _check_string(node: _Node, value: str, name: str, errs: list[_Err]) -> None:
        if node.max_length is not None and len(value) > node.max_length:
            limit = node.max_length
            msg = f"{name} in body should be at most {limit} chars long"
            unit = _plural(limit, "byte", "bytes")
            errs.append((msg, "FieldValueTooLong", name, f"Too long: may not be more than {limit} {unit}"))
            return
        if node.min_length is not None and len(value) < node.min_length:
            errs.append(_e_invalid(name, value, f"{name} in body should be at least {node.min_length} chars long"))
            return
        if node.pattern:
            if node.pattern_match is None:
                shown = f"{node.pattern}, but pattern is invalid: {node.pattern_error}"
                errs.append(_e_invalid(name, value, f"{name} in body should match '{shown}'"))
            elif not node.pattern_match(value):
                errs.append(_e_invalid(name, value, f"{name} in body should match '{node.pattern}'"))

    @staticmethod
    def _check_number(node: _Node, is_int: bool, value: int | float, name: str, errs: list[_Err]) -> None:
        typ, fmt = node.number_type, node.number_format
        # an int64 can only fail the range check of an int32 or float32 format: skip the common case
        if not is_int or fmt in ("int32", "float"):
            checked = _range_error(value, is_int, typ, fmt, "Checked", name)
            if checked:
                errs.append(_e_plain(checked))
        fvalue = float(value)
        if node.multiple_of is not None:
            factor = float(node.multiple_of)
            rng = (
                _range_error(factor, False, typ, fmt, "MultipleOf", name)
                if typ == "integer" or fmt == "float"
                else None
            )
            if rng:
                errs.append(_e_plain(rng))
            if rng is None and is_int:
                ifactor = _go_int64(factor)
                if ifactor <= 0:
                    msg = f"factor MultipleOf declared for {name} must be positive: {ifactor}"
                    errs.append(_e_invalid(name, ifactor, msg))
                elif int(value) % ifactor != 0:
                    errs.append(_e_invalid(name, value, f"{name} in body should be a multiple of {ifactor}"))
            elif factor <= 0:
                msg = f"factor MultipleOf declared for {name} must be positive: {_go_v(factor)}"
                errs.append(_e_invalid(name, factor, msg))
            else:
                try:
                    mult = (1 / factor * fvalue) if factor < 1 else fvalue / factor
                except (ZeroDivisionError, OverflowError):  # pragma: no cover - factor > 0 here
                    mult = math.nan
                if not _is_json_integer(mult):
                    msg = f"{name} in body should be a multiple of {_go_v(factor)}"
                    errs.append(_e_invalid(name, fvalue, msg))
        for bound, exclusive, label, is_min in (
            (node.minimum, node.exclusive_minimum, "Minimum boundary", True),
            (node.maximum, node.exclusive_maximum, "Maximum boundary", False),
        ):
            if bound is None:
                continue
            fbound = float(bound)
            rng = _range_error(fbound, False, typ, fmt, label, name) if typ == "integer" or fmt == "float" else None
            if rng:
                errs.append(_e_plain(rng))
            if rng is None and is_int:
                ibound = _go_int64(fbound)
                shown, bad = str(ibound), _out_of_bounds(int(value), ibound, exclusive, is_min)
                shown_value: Any = value
            else:
                shown, bad = _go_v(fbound), _out_of_bounds(fvalue, fbound, exclusive, is_min)
                shown_value = fvalue
            if bad:
                if is_min:
                    rel = "greater than" if exclusive else "greater than or equal to"
                else:
                    rel = "less than" if exclusive else "less than or equal to"
                errs.append(_e_invalid(name, shown_value, f"{name} in body should be {rel} {shown}"))

    def _check_array(
        self, node: _Node, value: list[Any] | tuple[Any, ...], name: str, depth: int, errs: list[_Err]
    ) -> int:
        count = 0
        items = node.items
        if items is not None:
            for i, v in enumerate(value):
                sub, c = self.run(items, v, f"{name}[{i}]", depth + 1)
                errs.extend(sub)
                count += c
        size = len(value)
        if node.min_items is not None and size < node.min_items:
            errs.append(_e_invalid(name, size, f"{name} in body should have at least {node.min_items} items"))
        if node.max_items is not None and size > node.max_items:
            msg = f"{name} in body should have at most {node.max_items} items"
            errs.append(_e_too_many(name, msg, size, node.max_items))
        if node.unique_items and size > 1:
            seen: list[Any] = []
            for v in value:
                if any(_go_equal(v, u) for u in seen):
                    errs.append(_e_invalid(name, "", f"{name} in body shouldn't contain duplicates"))
                    break
                seen.append(v)
        return count

    def _check_object(self, node: _Node, value: Mapping[str, Any], name: str, depth: int, errs: list[_Err]) -> int:
        count = 0
        size = len(value)
        if node.min_properties is not None and size < node.min_properties:
            msg = f"{name} in body should have at least {node.min_properties} properties"
            errs.append(_e_invalid(name, size, msg))
        if node.max_properties is not None and size > node.max_properties:
            msg = f"{name} in body should have at most {node.max_properties} properties"
            errs.append(_e_too_many(name, msg, size, node.max_properties))
        props = node.properties
        if node.additional_set and not node.additional_allows:
            for k in value:
                if k not in props:
                    errs.append(_e_invalid(name, k, f"{name}.{k} in body is a forbidden property"))
        elif node.additional is not None:
            extra = node.additional
            for k, v in value.items():
                if k not in props:
                    sub, c = self.run(extra, v, f"{name}.{k}", depth + 1)
                    errs.extend(sub)
                    count += c
        for pname, pnode in props.items():
            if pname in value:
                sub, c = self.run(pnode, value[pname], f"{name}.{pname}" if name else pname, depth + 1)
                errs.extend(sub)
                count += c
        for req in node.required:
            if req not in value:
                errs.append(_e_required(f"{name}.{req}"))
        return count

    def _composites(self, node: _Node, data: Any, name: str, depth: int, errs: list[_Err]) -> int:
        count = 0
        quoted = go_quote(name)
        if node.any_of:
            best: tuple[list[_Err], int] | None = None
            ok = False
            for sub in node.any_of:
                result = self.run(sub, data, name, depth + 1)
                if not result[0]:
                    ok, best = True, None
                    count += result[1]
                    break
                if best is None or result[1] > best[1]:
                    best = result
            if not ok:
                errs.append(_e_plain(f"{quoted} must validate at least one schema (anyOf)"))
            if best is not None:
                errs.extend(best[0])
                count += best[1]
        if node.one_of:
            best = None
            valid = 0
            first_ok = 0
            for sub in node.one_of:
                result = self.run(sub, data, name, depth + 1)
                if not result[0]:
                    valid += 1
                    best = None
                    first_ok = first_ok or result[1]
                    continue
                if valid == 0 and (best is None or result[1] > best[1]):
                    best = result
            if valid != 1:
                extra = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                errs.append(_e_plain(f"{quoted} must validate one and only one schema (oneOf). {extra}"))
                if best is not None:
                    errs.extend(best[0])
                    count += best[1]
            else:
                count += first_ok
        if node.all_of:
            valid = 0
            for sub in node.all_of:
                sub_errs, c = self.run(sub, data, name, depth + 1)
                if not sub_errs:
                    valid += 1
                errs.extend(sub_errs)
                count += c
            if valid != len(node.all_of):
                extra = ". None validated" if valid == 0 else ""
                errs.append(_e_plain(f"{quoted} must validate all the schemas (allOf){extra}"))
        if node.not_ is not None:
            sub_errs, _ = self.run(node.not_, data, name, depth + 1)
            if not sub_errs:
                errs.append(_e_plain(f"{quoted} must not validate the schema (not)"))
        return count


def _out_of_bounds(value: int | float, bound: int | float, exclusive: bool, is_min: bool) -> bool:
    if is_min:
        return value <= bound if exclusive else value < bound
    return value >= bound if exclusive else value > bound


_VALIDATOR = _Validator()


def _to_causes(errs: list[_Err], prefix: str, out: FieldErrors) -> None:
    """kube-openapi errors → causes (`kubeOpenAPIResultToFieldErrors`), de-duplicated on the error text."""
    seen: set[str] = set()
    for msg, reason, name, body in errs:
        if msg in seen:
            continue
        seen.add(msg)
        if name is None or name in ("", "."):
            field = prefix or "<nil>"
        else:
            trimmed = name[1:] if name.startswith(".") else name
            field = f"{prefix}.{trimmed}" if prefix else trimmed
        out.causes.append(Cause(reason, body, field))
