"""The JSONPath subset that CRDs use: `additionalPrinterColumns[].jsonPath` and the scale subresource's
`specReplicasPath` / `statusReplicasPath` / `labelSelectorPath`.

The apiserver evaluates printer columns with client-go's `util/jsonpath` (the path wrapped in `{...}`,
missing keys allowed) and prints the *first* result of the first expression; scale paths are plain dotted
field paths. This module implements the part of that language those paths use:

* fields: `.spec.size`, `.metadata.name`, with `\\.` escaping a dot inside a name
  (`.metadata.annotations.example\\.com/x`), and bracketed keys: `.spec['a.b']`, `["a"]`, `['a','b']`;
* an optional leading `$` and an optional `{...}` wrapper (`{.spec.size}` is `.spec.size`);
* array steps: `[0]`, `[-1]`, slices `[1:3]` / `[::2]`, unions `[0,2]`, wildcards `[*]` and `.*`;
* recursive descent `..name`;
* filters `[?(@.type=="Ready")]`, with `==`, `!=`, `<`, `<=`, `>`, `>=` against a string, number,
  `true`/`false`/`null` literal, and bare existence `[?(@.status)]`.

Contract:

* `parse(path)` returns an immutable `Path` or raises `ValueError` with a message naming the offending
  position; nothing else is raised for any string input. Parsed paths are cached (a column path is parsed
  once, not once per row).
* `Path.find(obj)` never raises: missing keys, indexes out of range and steps applied to the wrong JSON type
  simply produce no result (client-go's `AllowMissingKeys(true)`). It returns the list of matches in document
  order (dict insertion order for wildcards).
* `get(obj, path)` is the printer's view: the first match or None.
* `set_value(obj, path, value)` writes through a path made only of field steps (what scale paths are),
  creating missing intermediate objects, and raises `ValueError` for any other path or when an intermediate
  value is not an object.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Path", "get", "parse", "set_value"]

MAX_PATH_LENGTH = 4096
"""Longer paths are rejected: a column path is a handful of fields, and parsing must stay cheap."""


# --- steps -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """`.name` / `['name']`: the value of one key of an object."""

    name: str


@dataclass(frozen=True, slots=True)
class Keys:
    """`['a','b']`: a union of keys."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Wildcard:
    """`.*` / `[*]`: every value of an object, every item of an array."""


@dataclass(frozen=True, slots=True)
class Index:
    """`[i]` or `[i,j]`: array items by position; negative positions count from the end."""

    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Slice:
    """`[start:stop:step]` with Python's clamping semantics (missing bounds mean the whole array)."""

    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True, slots=True)
class Recursive:
    """`..`: the current node and all its descendants, in document order (the next step applies to each)."""


@dataclass(frozen=True, slots=True)
class Filter:
    """`[?(@.path op literal)]` or `[?(@.path)]`: array items for which the condition holds."""

    path: tuple[Any, ...]
    op: str  # "" for existence
    literal: Any


Step = Field | Keys | Wildcard | Index | Slice | Recursive | Filter


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed JSONPath: `source` is the text it was parsed from, `steps` the evaluation steps."""

    source: str
    steps: tuple[Step, ...]

    def find(self, obj: Any) -> list[Any]:
        """Every match of the path in `obj`, in document order; [] when nothing matches."""
        return _evaluate(self.steps, obj)

    def first(self, obj: Any) -> Any | None:
        """The first match, or None (what the table printer shows)."""
        found = _evaluate(self.steps, obj)
        return found[0] if found else None

    @property
    def field_names(self) -> tuple[str, ...] | None:
        """The field names when the path is made only of single-key field steps (`.spec.replicas`),
        else None. Such paths are the ones `set_value` accepts."""
        names = []
        for step in self.steps:
            if not isinstance(step, Field):
                return None
            names.append(step.name)
        return tuple(names)


# --- parsing -----------------------------------------------------------------------------------------


class _Parser:
    """A hand-written recursive-descent parser over the path text. Positions in messages are 0-based."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, msg: str) -> ValueError:
        return ValueError(f"invalid JSONPath {self.text!r}: {msg} at position {self.pos}")

    def peek(self, n: int = 0) -> str:
        i = self.pos + n
        return self.text[i] if i < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def parse(self) -> tuple[Step, ...]:
        text = self.text.strip()
        if text.startswith("{"):
            if not text.endswith("}"):
                self.pos = len(self.text)
                raise self.error("unclosed '{'")
            text = text[1:-1].strip()
            if "{" in text or "}" in text:
                raise ValueError(f"invalid JSONPath {self.text!r}: only one {{...}} expression is supported")
        self.text = text
        self.pos = 0
        if not text:
            raise self.error("empty path")
        if self.peek() == "$":
            self.pos += 1
        steps = self.parse_steps(in_filter=False)
        if self.pos != len(self.text):
            raise self.error(f"unexpected {self.peek()!r}")
        return tuple(steps)

    def parse_steps(self, *, in_filter: bool) -> list[Step]:
        steps: list[Step] = []
        while self.pos < len(self.text):
            ch = self.peek()
            if ch == ".":
                if self.peek(1) == ".":
                    self.pos += 2
                    steps.append(Recursive())
                    if self.peek() == "[":
                        continue
                    if not self.peek() or self.peek() in ".]) ":
                        raise self.error("expected a field name after '..'")
                    steps.append(self.parse_field_name())
                    continue
                self.pos += 1
                if self.peek() == "[" and not steps:
                    continue  # `.[0]`, `.['a']`: client-go accepts a dot before a bracket at the start
                if not self.peek() or self.peek() in ".[])= !<>&|,":
                    if not steps and not self.peek() and not in_filter:
                        continue  # "." alone: the whole object
                    raise self.error("expected a field name after '.'")
                steps.append(self.parse_field_name())
            elif ch == "[":
                steps.append(self.parse_bracket())
            elif in_filter:
                break
            else:
                raise self.error(f"unexpected {ch!r}")
        return steps

    def parse_field_name(self) -> Step:
        """A dotted field name up to the next operator character; `\\` escapes the next character."""
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch in ".[]() \t=!<>&|,{}":
                break
            out.append(ch)
            self.pos += 1
        name = "".join(out)
        if not name:
            raise self.error("empty field name")
        return Wildcard() if name == "*" else Field(name)

    def parse_bracket(self) -> Step:
        self.pos += 1  # [
        self.skip_spaces()
        ch = self.peek()
        if ch == "?":
            step: Step = self.parse_filter()
        elif ch == "*":
            self.pos += 1
            step = Wildcard()
        elif ch and ch in "'\"":
            names = [self.parse_string()]
            self.skip_spaces()
            while self.peek() == ",":
                self.pos += 1
                self.skip_spaces()
                if not self.peek() or self.peek() not in "'\"":
                    raise self.error("expected a quoted key")
                names.append(self.parse_string())
                self.skip_spaces()
            step = Field(names[0]) if len(names) == 1 else Keys(tuple(names))
        else:
            step = self.parse_index()
        self.skip_spaces()
        if self.peek() != "]":
            raise self.error("expected ']'")
        self.pos += 1
        return step

    def parse_string(self) -> str:
        quote = self.peek()
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated string")
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if ch == quote:
                return "".join(out)
            out.append(ch)

    def parse_int(self) -> int | None:
        self.skip_spaces()
        start = self.pos
        if self.peek() and self.peek() in "+-":
            self.pos += 1
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        digits = self.text[start : self.pos]
        self.skip_spaces()
        if digits in ("", "+", "-"):
            if digits:
                raise self.error("expected a number")
            return None
        if len(digits) > 19:
            raise self.error("index out of range")
        return int(digits)

    def parse_index(self) -> Step:
        first = self.parse_int()
        if self.peek() == ":":
            parts: list[int | None] = [first]
            while self.peek() == ":" and len(parts) < 3:
                self.pos += 1
                parts.append(self.parse_int())
            while len(parts) < 3:
                parts.append(None)
            if parts[2] is not None and parts[2] <= 0:
                raise self.error("slice step must be positive")
            return Slice(parts[0], parts[1], parts[2])
        if first is None:
            raise self.error("expected an index, a slice, a quoted key, '*' or a filter")
        indexes = [first]
        while self.peek() == ",":
            self.pos += 1
            nxt = self.parse_int()
            if nxt is None:
                raise self.error("expected an index")
            indexes.append(nxt)
        return Index(tuple(indexes))

    def parse_filter(self) -> Step:
        self.pos += 1  # ?
        self.skip_spaces()
        if self.peek() != "(":
            raise self.error("expected '(' after '?'")
        self.pos += 1
        self.skip_spaces()
        if self.peek() != "@":
            raise self.error("a filter must start with '@'")
        self.pos += 1
        path = tuple(self.parse_steps(in_filter=True))
        if any(isinstance(s, Recursive | Filter) for s in path):
            raise self.error("nested filters and '..' are not supported inside a filter")
        self.skip_spaces()
        op = ""
        literal: Any = None
        for candidate in ("==", "!=", "<=", ">=", "<", ">"):
            if self.text.startswith(candidate, self.pos):
                op = candidate
                self.pos += len(candidate)
                break
        if op:
            self.skip_spaces()
            literal = self.parse_literal()
            self.skip_spaces()
        if self.peek() != ")":
            raise self.error("expected ')' closing the filter")
        self.pos += 1
        return Filter(path, op, literal)

    def parse_literal(self) -> Any:
        ch = self.peek()
        if ch in ("'", '"'):
            return self.parse_string()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ") \t":
            self.pos += 1
        word = self.text[start : self.pos]
        if word == "true":
            return True
        if word == "false":
            return False
        if word in ("null", "nil"):
            return None
        try:
            return int(word)
        except ValueError:
            pass
        try:
            value = float(word)
        except ValueError:
            self.pos = start
            raise self.error("expected a string, number, true, false or null") from None
        if not math.isfinite(value):
            self.pos = start
            raise self.error("expected a finite number")
        return value


@functools.lru_cache(maxsize=4096)
def parse(path: str) -> Path:
    """Parse `path`; raise ValueError (with the reason and position) if it is not in the supported subset."""
    if not isinstance(path, str):
        raise ValueError(f"invalid JSONPath {path!r}: must be a string")
    if len(path) > MAX_PATH_LENGTH:
        raise ValueError(f"invalid JSONPath: longer than {MAX_PATH_LENGTH} characters")
    return Path(path, _Parser(path).parse())


def _as_path(path: str | Path) -> Path:
    return path if isinstance(path, Path) else parse(path)


# --- evaluation -------------------------------------------------------------------------------------------


def _descendants(node: Any) -> Iterator[Any]:
    """`node` and everything below it, pre-order, without recursion (objects may be arbitrarily deep)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, dict):
            stack.extend(reversed(list(cur.values())))
        elif isinstance(cur, list):
            stack.extend(reversed(cur))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _compare(left: Any, op: str, right: Any) -> bool:
    if op in ("==", "!="):
        if _is_number(left) and _is_number(right):
            equal = left == right
        else:
            equal = type(left) is type(right) and left == right
        return equal if op == "==" else not equal
    if _is_number(left) and _is_number(right):
        pass
    elif not (isinstance(left, str) and isinstance(right, str)):
        return False  # client-go: "incompatible types for comparison"; the item simply does not match
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _apply(step: Step, nodes: list[Any]) -> list[Any]:
    out: list[Any] = []
    if isinstance(step, Field):
        for n in nodes:
            if isinstance(n, dict) and step.name in n:
                out.append(n[step.name])
    elif isinstance(step, Keys):
        for n in nodes:
            if isinstance(n, dict):
                out.extend(n[k] for k in step.names if k in n)
    elif isinstance(step, Wildcard):
        for n in nodes:
            if isinstance(n, dict):
                out.extend(n.values())
            elif isinstance(n, list):
                out.extend(n)
    elif isinstance(step, Index):
        for n in nodes:
            if isinstance(n, list):
                size = len(n)
                for i in step.indexes:
                    j = i + size if i < 0 else i
                    if 0 <= j < size:
                        out.append(n[j])
    elif isinstance(step, Slice):
        for n in nodes:
            if isinstance(n, list):
                out.extend(n[step.start : step.stop : step.step])
    elif isinstance(step, Recursive):
        for n in nodes:
            out.extend(_descendants(n))
    elif isinstance(step, Filter):
        for n in nodes:
            if isinstance(n, list):
                out.extend(item for item in n if _matches(step, item))
    return out


def _matches(f: Filter, item: Any) -> bool:
    found = _evaluate(f.path, item)
    if not f.op:
        return bool(found) and found[0] is not None and found[0] is not False
    if not found:
        return False
    return _compare(found[0], f.op, f.literal)


def _evaluate(steps: tuple[Step, ...], obj: Any) -> list[Any]:
    nodes = [obj]
    for step in steps:
        nodes = _apply(step, nodes)
        if not nodes:
            break
    return nodes


# --- convenience -------------------------------------------------------------------------------------------


def get(obj: Any, path: str | Path) -> Any | None:
    """The first value `path` selects in `obj`, or None; ValueError if `path` does not parse.

    With several matches (`.items[*].name`) this is the first one, as the apiserver's column printer shows."""
    return _as_path(path).first(obj)


def set_value(obj: dict[str, Any], path: str | Path, value: Any) -> None:
    """Set the field `path` names (`.spec.replicas`) in `obj`, creating missing intermediate objects.

    Raises ValueError when `path` does not parse, is not made only of field steps, or when an intermediate
    value exists but is not an object (upstream's `SetNestedField` refuses the same)."""
    parsed = _as_path(path)
    names = parsed.field_names
    if not names:
        raise ValueError(f"invalid JSONPath {parsed.source!r}: only a path of field names can be written")
    if not isinstance(obj, dict):
        raise ValueError("value cannot be set because the object is not a map")
    cur = obj
    for i, name in enumerate(names[:-1]):
        nxt = cur.get(name)
        if nxt is None:
            nxt = cur[name] = {}
        elif not isinstance(nxt, dict):
            where = "." + ".".join(names[: i + 1])
            raise ValueError(f"value cannot be set because {where} is not a map")
        cur = nxt
    cur[names[-1]] = value
