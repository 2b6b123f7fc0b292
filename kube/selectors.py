"""Label and field selectors: parsing, matching, and a plain requirement list for the storage layer.

Contracts:

* Parsing follows k8s.io/apimachinery v0.35 `labels.Parse` and `fields.ParseSelector` token for token, so a
  selector the real apiserver accepts is accepted here and a rejected one fails with the same message.
  Every parse failure raises `kube.errors.BadRequest` (400) and nothing else, whatever the input.
* Selectors are immutable values. `requirements` is the whole meaning of a selector, in a canonical order
  (label requirements sorted by key, field terms sorted by their text, as upstream does), so the storage
  layer can translate it into SQL conditions and get the same answer `matches()` gives in memory.
* `==` is normalised to `=` (upstream keeps a separate `DoubleEquals` operator with identical semantics);
  `str()` therefore prints `=` where the input had `==`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum, auto
from typing import Any, NamedTuple

from kube.errors import BadRequest
from kube.meta_validation import go_quote, is_label_value, is_qualified_name, render_bad_value

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Op",
    "Requirement",
    "escape_field_value",
    "label_selector_from_dict",
    "parse_field_selector",
    "parse_label_selector",
    "unescape_field_value",
]


class Op(StrEnum):
    """Selector operators, spelled as apimachinery's `selection.Operator` values."""

    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    NOT_EQUALS = "!="
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_GO_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _parse_int64(s: str) -> int | None:
    """Go's `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only, int64 range; else None."""
    if not _GO_INT.fullmatch(s):
        return None
    n = int(s)
    return n if _INT64_MIN <= n <= _INT64_MAX else None


class Requirement(NamedTuple):
    """One label condition. `values` holds the operand(s): one for `=`, `!=`, `gt`, `lt`; one or more for
    `in`/`notin` (sorted and de-duplicated when parsed from a string); none for `exists`/`!`."""

    key: str
    op: Op
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfies this condition. A missing key satisfies only `!=`, `notin` and `!`;
        `gt`/`lt` compare as int64 and never match a label value that is not an integer."""
        op = self.op
        if op is Op.EXISTS:
            return self.key in labels
        if op is Op.DOES_NOT_EXIST:
            return self.key not in labels
        value = labels.get(self.key)
        if op in (Op.IN, Op.EQUALS):
            return value is not None and value in self.values
        if op in (Op.NOT_IN, Op.NOT_EQUALS):
            return value is None or value not in self.values
        if value is None or len(self.values) != 1:
            return False
        have, want = _parse_int64(value), _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if op is Op.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.op
        if op is Op.EXISTS:
            return self.key
        if op is Op.DOES_NOT_EXIST:
            return "!" + self.key
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (Op.IN, Op.NOT_IN):
            return f"{self.key} {op.value} ({vals})"
        symbol = {Op.GREATER_THAN: ">", Op.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{vals}"


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of label requirements.

    `nothing` marks the selector that matches no object at all (what a *null* metav1.LabelSelector means);
    it has no requirements, so storage code must check it before translating `requirements`.
    """

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (it matches every object)."""
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these labels (None meaning no labels) is selected."""
        if self.nothing:
            return False
        present: Mapping[str, str] = labels or {}
        return all(r.matches(present) for r in self.requirements)

    def requires_exact_match(self, key: str) -> str | None:
        """The single value `key` must have for anything to match (from `key=v` or `key in (v)`), if any."""
        for r in self.requirements:
            if r.key == key:
                if r.op in (Op.EQUALS, Op.IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# --- label selector strings (labels.Parse) ----------------------------------------------------------------


class _Tok(Enum):
    ERROR = auto()
    EOS = auto()
    CLOSE_PAREN = auto()
    COMMA = auto()
    NOT = auto()
    DOUBLE_EQUALS = auto()
    EQUALS = auto()
    GREATER = auto()
    IDENT = auto()
    IN = auto()
    LESS = auto()
    NOT_EQUALS = auto()
    NOT_IN = auto()
    OPEN_PAREN = auto()


_LITERALS = {
    ")": _Tok.CLOSE_PAREN,
    ",": _Tok.COMMA,
    "!": _Tok.NOT,
    "==": _Tok.DOUBLE_EQUALS,
    "=": _Tok.EQUALS,
    ">": _Tok.GREATER,
    "in": _Tok.IN,
    "<": _Tok.LESS,
    "!=": _Tok.NOT_EQUALS,
    "notin": _Tok.NOT_IN,
    "(": _Tok.OPEN_PAREN,
}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_END = "\x00"  # upstream's lexer reads a NUL byte as end of input; so does this one
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


class _ParseError(Exception):
    pass


def _lex(s: str) -> list[tuple[_Tok, str]]:
    """Tokenise a label selector exactly as upstream's Lexer, including its treatment of NUL as an end."""
    items: list[tuple[_Tok, str]] = []
    pos = 0
    n = len(s)

    def read() -> str:
        nonlocal pos
        if pos < n:
            pos += 1
            return s[pos - 1]
        return _END

    while True:
        ch = read()
        while ch in _WHITESPACE:
            ch = read()
        if ch == _END:
            items.append((_Tok.EOS, ""))
            return items
        pos -= 1
        if ch in _SPECIAL:
            buf = ""
            last: tuple[_Tok, str] | None = None
            while True:
                c = read()
                if c == _END:
                    break
                if c not in _SPECIAL:
                    pos -= 1
                    break
                buf += c
                tok = _LITERALS.get(buf)
                if tok is not None:
                    last = (tok, buf)
                elif last is not None:
                    pos -= 1
                    break
            items.append(last if last is not None else (_Tok.ERROR, f"error expected: keyword found '{buf}'"))
        else:
            chars: list[str] = []
            while True:
                c = read()
                if c == _END:
                    break
                if c in _SPECIAL or c in _WHITESPACE:
                    pos -= 1
                    break
                chars.append(c)
            word = "".join(chars)
            items.append((_LITERALS.get(word, _Tok.IDENT), word))


class _Parser:
    """Recursive-descent parser over the token list, mirroring upstream's `Parser` and its error texts."""

    def __init__(self, s: str) -> None:
        self.items = _lex(s)
        self.position = 0

    def _at(self, index: int, values_context: bool) -> tuple[_Tok, str]:
        tok, lit = self.items[min(index, len(self.items) - 1)]
        # "in" and "notin" are ordinary words wherever a key or value is expected ("in in (in)" is valid).
        if values_context and tok in (_Tok.IN, _Tok.NOT_IN):
            tok = _Tok.IDENT
        return tok, lit

    def lookahead(self, values_context: bool = True) -> tuple[_Tok, str]:
        return self._at(self.position, values_context)

    def consume(self, values_context: bool = True) -> tuple[_Tok, str]:
        self.position += 1
        return self._at(self.position - 1, values_context)

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_Tok.IDENT, _Tok.NOT):
                try:
                    requirements.append(self.parse_requirement())
                except _ParseError as exc:
                    raise _ParseError(f"unable to parse requirement: {exc}") from None
                tok, lit = self.consume()
                if tok is _Tok.EOS:
                    return requirements
                if tok is _Tok.COMMA:
                    tok2, lit2 = self.lookahead()
                    if tok2 not in (_Tok.IDENT, _Tok.NOT):
                        raise _ParseError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise _ParseError(f"found '{lit}', expected: ',' or 'end of string'")
            elif tok is _Tok.EOS:
                return requirements
            else:
                raise _ParseError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def parse_requirement(self) -> Requirement:
        key, op = self.parse_key_and_infer_operator()
        if op is not None:
            return _new_requirement(key, op, [], None)
        op = self.parse_operator()
        values = self.parse_values() if op in (Op.IN, Op.NOT_IN) else self.parse_exact_value()
        return _new_requirement(key, op, sorted(values), None)

    def parse_key_and_infer_operator(self) -> tuple[str, Op | None]:
        op: Op | None = None
        tok, lit = self.consume()
        if tok is _Tok.NOT:
            op = Op.DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok is not _Tok.IDENT:
            raise _ParseError(f"found '{lit}', expected: identifier")
        key_errors = is_qualified_name(lit)
        if key_errors:
            # Upstream validates the key against a nil field path, which prints as "<nil>".
            raise _ParseError(f"<nil>: Invalid value: {go_quote(lit)}: {'; '.join(key_errors)}")
        if self.lookahead()[0] in (_Tok.EOS, _Tok.COMMA) and op is None:
            op = Op.EXISTS
        return lit, op

    def parse_operator(self) -> Op:
        tok, lit = self.consume(values_context=False)
        op = {
            _Tok.IN: Op.IN,
            _Tok.EQUALS: Op.EQUALS,
            _Tok.DOUBLE_EQUALS: Op.EQUALS,
            _Tok.GREATER: Op.GREATER_THAN,
            _Tok.LESS: Op.LESS_THAN,
            _Tok.NOT_IN: Op.NOT_IN,
            _Tok.NOT_EQUALS: Op.NOT_EQUALS,
        }.get(tok)
        if op is None:
            raise _ParseError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        return op

    def parse_values(self) -> set[str]:
        tok, lit = self.consume()
        if tok is not _Tok.OPEN_PAREN:
            raise _ParseError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_Tok.IDENT, _Tok.COMMA):
            values = self.parse_identifiers_list()
            if self.consume()[0] is not _Tok.CLOSE_PAREN:
                raise _ParseError(f"found '{lit}', expected: ')'")
            return values
        if tok is _Tok.CLOSE_PAREN:  # "()" means the single empty value
            self.consume()
            return {""}
        raise _ParseError(f"found '{lit}', expected: ',', ')' or identifier")

    def parse_identifiers_list(self) -> set[str]:
        """Comma-separated, possibly empty values: "(a,,b)", "(,a)" and "(a,)" all include ""."""
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok is _Tok.IDENT:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 is _Tok.COMMA:
                    continue
                if tok2 is _Tok.CLOSE_PAREN:
                    return values
                raise _ParseError(f"found '{lit2}', expected: ',' or ')'")
            if tok is _Tok.COMMA:
                if not values:
                    values.add("")
                tok2, _ = self.lookahead()
                if tok2 is _Tok.CLOSE_PAREN:
                    values.add("")
                    return values
                if tok2 is _Tok.COMMA:
                    values.add("")
                continue
            raise _ParseError(f"found '{lit}', expected: ',', or identifier")

    def parse_exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_Tok.EOS, _Tok.COMMA):
            return {""}
        tok, lit = self.consume()
        if tok is _Tok.IDENT:
            return {lit}
        raise _ParseError(f"found '{lit}', expected: identifier")


def _render_values(values: list[str]) -> str:
    # Go renders a nil []string as null; upstream only ever reaches these messages with nil or non-empty.
    return render_bad_value(values) if values else "null"


def _new_requirement(key: str, op: Op, values: list[str], path: str | None) -> Requirement:
    """Upstream's `NewRequirement`: all problems with key, operator arity and values, aggregated into one
    message (`[a, b]` when there are several distinct ones). `path` prefixes field paths (None = no prefix)."""

    def at(child: str) -> str:
        return child if path is None else f"{path}.{child}"

    errors: list[str] = []
    key_errors = is_qualified_name(key)
    if key_errors:
        errors.append(f"{at('key')}: Invalid value: {go_quote(key)}: {'; '.join(key_errors)}")
    if op in (Op.IN, Op.NOT_IN):
        if not values:
            errors.append(
                f"{at('values')}: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"
            )
    elif op in (Op.EQUALS, Op.NOT_EQUALS):
        if len(values) != 1:
            errors.append(
                f"{at('values')}: Invalid value: {_render_values(values)}: "
                "exact-match compatibility requires one single value"
            )
    elif op in (Op.EXISTS, Op.DOES_NOT_EXIST):
        if values:
            errors.append(
                f"{at('values')}: Invalid value: {_render_values(values)}: "
                "values set must be empty for exists and does not exist"
            )
    else:
        if len(values) != 1:
            errors.append(
                f"{at('values')}: Invalid value: {_render_values(values)}: "
                "for 'Gt', 'Lt' operators, exactly one value is required"
            )
        for i, v in enumerate(values):
            if _parse_int64(v) is None:
                errors.append(
                    f"{at('values')}[{i}]: Invalid value: {go_quote(v)}: "
                    "for 'Gt', 'Lt' operators, the value must be an integer"
                )
    for i, v in enumerate(values):
        value_errors = is_label_value(v)
        if value_errors:
            errors.append(f"{at('values')}[{i}][{key}]: Invalid value: {go_quote(v)}: {'; '.join(value_errors)}")
    if errors:
        unique = list(dict.fromkeys(errors))
        raise _ParseError(unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")
    return Requirement(key, op, tuple(values))


def parse_label_selector(s: str | None) -> LabelSelector:
    """Parse the `labelSelector` query parameter.

    Grammar (comma = AND, whitespace around tokens ignored): `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
    `k notin (a,b)`, `k>5`, `k<5`. Keys are qualified names (`app.kubernetes.io/name`), values label values
    (possibly empty: `k=`, `k in ()`), `gt`/`lt` operands int64. An empty or blank string (or None) selects
    everything. Raises `BadRequest` with upstream's message, e.g. `unable to parse requirement: found 'b',
    expected: in, notin, =, ==, !=, gt, lt`.
    """
    if not s:
        return LabelSelector()
    if not isinstance(s, str):
        raise BadRequest(f"label selector must be a string, got {render_bad_value(s)}")
    try:
        requirements = _Parser(s).parse()
    except _ParseError as exc:
        raise BadRequest(str(exc)) from None
    requirements.sort(key=lambda r: r.key)
    return LabelSelector(tuple(requirements))


_DICT_OPERATORS = {"In": Op.IN, "NotIn": Op.NOT_IN, "Exists": Op.EXISTS, "DoesNotExist": Op.DOES_NOT_EXIST}


def label_selector_from_dict(sel: Mapping[str, Any] | None) -> LabelSelector:
    """Convert a metav1.LabelSelector object (`{matchLabels, matchExpressions}`) as upstream's
    `LabelSelectorAsSelector` does.

    A null selector matches nothing (`nothing=True`); an empty one matches everything. Operators are
    `In`, `NotIn`, `Exists`, `DoesNotExist` (no `Gt`/`Lt` here); values keep their given order. Invalid keys,
    values, operators, arities or JSON types raise `BadRequest` with upstream's wording (`"Foo" is not a
    valid label selector operator`, `key: Invalid value: ...`); callers validating a stored object's spec may
    re-wrap that message as a field error.
    """
    if sel is None:
        return LabelSelector(nothing=True)
    if not isinstance(sel, Mapping):
        raise BadRequest(f"label selector must be an object, got {render_bad_value(sel)}")
    match_labels = sel.get("matchLabels") or {}
    match_expressions = sel.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping):
        raise BadRequest(f"matchLabels must be an object, got {render_bad_value(match_labels)}")
    if not isinstance(match_expressions, list):
        raise BadRequest(f"matchExpressions must be an array, got {render_bad_value(match_expressions)}")
    requirements: list[Requirement] = []
    try:
        for key in sorted(match_labels, key=str):
            value = match_labels[key]
            if not isinstance(key, str) or not isinstance(value, str):
                raise _ParseError(f"matchLabels must map strings to strings, got {render_bad_value(value)}")
            requirements.append(_new_requirement(key, Op.EQUALS, [value], None))
        for expr in match_expressions:
            if not isinstance(expr, Mapping):
                raise _ParseError(f"matchExpressions entries must be objects, got {render_bad_value(expr)}")
            operator = expr.get("operator", "")
            op = _DICT_OPERATORS.get(operator) if isinstance(operator, str) else None
            if op is None:
                shown = go_quote(operator) if isinstance(operator, str) else render_bad_value(operator)
                raise _ParseError(f"{shown} is not a valid label selector operator")
            key = expr.get("key", "")
            values = expr.get("values") or []
            if not isinstance(key, str):
                raise _ParseError(f"matchExpressions key must be a string, got {render_bad_value(key)}")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise _ParseError(
                    f"matchExpressions values must be an array of strings, got {render_bad_value(values)}"
                )
            requirements.append(_new_requirement(key, op, list(values), None))
    except _ParseError as exc:
        raise BadRequest(str(exc)) from None
    requirements.sort(key=lambda r: r.key)
    return LabelSelector(tuple(requirements))


# --- field selectors (fields.ParseSelector) ----------------------------------------------------------------


class FieldRequirement(NamedTuple):
    """One field condition: `field` equals (`=`) or differs from (`!=`) `value` (already unescaped)."""

    field: str
    op: Op
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.op.value}{escape_field_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of field conditions over an object's selectable fields (`metadata.name`, ...)."""

    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether an object whose selectable fields are `fields` is selected. A field missing from `fields`
        counts as the empty string, as upstream's `Fields.Get` does (so `f!=x` matches it and `f=` too)."""
        for r in self.requirements:
            equal = fields.get(r.field, "") == r.value
            if equal != (r.op is Op.EQUALS):
                return False
        return True

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal for anything to match (`field=v`), if the selector demands one."""
        for r in self.requirements:
            if r.field == field and r.op is Op.EQUALS:
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def escape_field_value(s: str) -> str:
    """Escape `\\`, `,` and `=` so a value survives inside a field selector string."""
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_field_value(s: str) -> str:
    """Undo `escape_field_value`. Raises `BadRequest` for an unknown escape or a bare `,`/`=`, with
    upstream's messages (the bare character is printed as its code point, as Go's `%v` of a rune does)."""
    if not any(c in s for c in "\\,="):
        return s
    out: list[str] = []
    escaped = False
    for c in s:
        if escaped:
            if c not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in ",=":
            raise BadRequest(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if escaped:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(selector: str) -> list[str]:
    """Split on commas not preceded by a backslash escape."""
    terms: list[str] = []
    start = 0
    escaped = False
    for i, c in enumerate(selector):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return terms


def _split_term(term: str) -> tuple[str, Op, str] | None:
    """Cut a term at its first operator; at each position `!=` wins over `==`, which wins over `=`."""
    for i in range(len(term)):
        for symbol, op in (("!=", Op.NOT_EQUALS), ("==", Op.EQUALS), ("=", Op.EQUALS)):
            if term.startswith(symbol, i):
                return term[:i], op, term[i + len(symbol) :]
    return None


def parse_field_selector(s: str | None, allowed: Collection[str]) -> FieldSelector:
    """Parse the `fieldSelector` query parameter for a resource whose selectable fields are `allowed`.

    Terms are `f=v`, `f==v`, `f!=v`, comma-separated; `\\,`, `\\=` and `\\\\` escape those characters in
    values. Whitespace is *not* trimmed (upstream does not either: `a = b` names the field `"a "`). Syntax is
    checked for every term before any field name, and terms are processed in sorted order, so the first error
    reported is the one upstream reports. Raises `BadRequest`: `invalid selector: '<s>'; can't understand
    '<term>'`, the escape errors of `unescape_field_value`, or `field label not supported: <name>`.
    """
    if not s:
        return FieldSelector()
    if not isinstance(s, str):
        raise BadRequest(f"field selector must be a string, got {render_bad_value(s)}")
    requirements: list[FieldRequirement] = []
    for term in sorted(_split_terms(s)):
        if not term:
            continue
        parts = _split_term(term)
        if parts is None:
            raise BadRequest(f"invalid selector: '{s}'; can't understand '{term}'")
        field, op, raw = parts
        requirements.append(FieldRequirement(field, op, unescape_field_value(raw)))
    for r in requirements:
        if r.field not in allowed:
            raise BadRequest(f"field label not supported: {r.field}")
    return FieldSelector(tuple(requirements))
