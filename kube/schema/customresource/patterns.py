"""OpenAPI `pattern`: Go regexp (RE2) syntax on Python's `re`, with a linear-time matcher for risky patterns.

`compile_pattern(pattern)` returns a matcher (unanchored, as Go's `MatchString`) or `(None, Go-style error
text)`. RE2 constructs Python spells differently are translated (`_translate_go_regexp`); constructs RE2
rejects (look-arounds, back-references, possessive repetition) are rejected with RE2's message. `\\d`, `\\w`
and `\\s` are ASCII-only, as in RE2.

Why two engines: patterns come from tenants' CRDs and RE2 matches in linear time, while Python's backtracking
`re` takes exponential time on nested repetition. Patterns whose shape allows that are matched by `_NFA`, a
Thompson simulation over `re`'s own parse tree that is linear in the input; the others use `re`, which is
faster on the common simple patterns. Depends on nothing else in the package.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

_UNSUPPORTED_PERL = ("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?#", "(?(", "(?P=")
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
# RE2's Perl classes are ASCII-only; Python's are Unicode-aware (re.ASCII would make \pL ASCII-only too).
_ASCII_CLASSES = {
    "d": ("0-9", False),
    "D": ("0-9", True),
    "w": ("0-9A-Za-z_", False),
    "W": ("0-9A-Za-z_", True),
    "s": ("\\t\\n\\f\\r ", False),
    "S": ("\\t\\n\\f\\r ", True),
}
_UNICODE_CLASSES = {"L": "^\\W\\d_", "Lu": "A-Z", "Ll": "a-z", "N": "0-9", "Nd": "0-9"}


def _translate_go_regexp(pattern: str) -> str:
    """Rewrite RE2 syntax into Python `re` syntax, or raise ValueError with Go's parse error wording."""
    for bad in _UNSUPPORTED_PERL:
        if bad in pattern:
            at = pattern.index(bad)
            if at == 0 or pattern[at - 1] != "\\":
                raise ValueError(f"error parsing regexp: invalid or unsupported Perl syntax: `{bad}`")
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    multiline = bool(re.match(r"\(\?[a-zA-Z]*m", pattern))
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ValueError("error parsing regexp: trailing backslash at end of expression: ``")
            nxt = pattern[i + 1]
            if nxt.isdigit() and nxt != "0":
                raise ValueError(f"error parsing regexp: invalid escape sequence: `\\{nxt}`")
            if nxt == "z":
                out.append("\\Z")
                i += 2
                continue
            if nxt in _ASCII_CLASSES:
                cls, negated = _ASCII_CLASSES[nxt]
                if in_class:
                    if negated:
                        raise ValueError(f"unsupported negated class \\{nxt} inside a character class")
                    out.append(cls)
                else:
                    out.append(f"[{'^' if negated else ''}{cls}]")
                i += 2
                continue
            if nxt == "Z":
                raise ValueError("error parsing regexp: invalid escape sequence: `\\Z`")
            if nxt in "pP":
                m = re.match(r"\{(\^?)([A-Za-z_]+)\}|([A-Za-z])", pattern[i + 2 :])
                if not m:
                    raise ValueError(f"error parsing regexp: invalid character class range: `\\{nxt}`")
                negate = (nxt == "P") != bool(m.group(1))
                name = m.group(2) or m.group(3) or ""
                uni = _UNICODE_CLASSES.get(name)
                if uni is None:
                    raise ValueError(f"unsupported Unicode class \\p{{{name}}}")
                if in_class:
                    if negate or uni.startswith("^"):
                        raise ValueError(f"unsupported Unicode class \\p{{{name}}} inside a character class")
                    out.append(uni)
                else:
                    if uni.startswith("^"):
                        out.append(f"[{uni}]" if not negate else "[\\W\\d_]")
                    else:
                        out.append(f"[{'^' if negate else ''}{uni}]")
                i += 2 + m.end()
                continue
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end > 0:
                    posix = pattern[i + 2 : end]
                    posix_cls = _POSIX_CLASSES.get(posix)
                    if posix_cls is None:
                        raise ValueError(f"error parsing regexp: invalid character class range: `[:{posix}:]`")
                    out.append(posix_cls)
                    i = end + 2
                    continue
            if ch == "[":
                out.append("\\[")
                i += 1
                continue
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if ch == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        if ch == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if ch in "*+?}" and i + 1 < n and pattern[i + 1] in "*+" and not (ch == "}" and _brace_is_literal(out)):
            raise ValueError(f"error parsing regexp: invalid nested repetition operator: `{ch}{pattern[i + 1]}`")
        out.append(ch)
        i += 1
    return "".join(out)


def _brace_is_literal(out: list[str]) -> bool:
    text = "".join(out)
    return re.search(r"\{\d+(,\d*)?\}$", text) is None


@functools.lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> tuple[Callable[[str], bool] | None, str]:
    """A matcher for an OpenAPI `pattern` in Go's regexp (RE2) syntax, or (None, Go-style error text).

    Matching is unanchored, as Go's `MatchString`. RE2 constructs Python spells differently are translated
    (`\\z`, `$` outside multi-line mode, `(?<name>`, POSIX classes, common `\\p{..}` classes, `\\Q..\\E`);
    constructs RE2 rejects (look-arounds, back-references, possessive repetition) are rejected with RE2's
    message. `\\d`, `\\w` and `\\s` are ASCII-only, as in RE2 (`\\b` stays Unicode-aware, a small departure).

    Why two engines: patterns come from tenants' CRDs and RE2 matches in linear time, while Python's
    backtracking `re` takes exponential time on nested repetition (`^(a+)+$` against 30 characters runs for
    seconds). Patterns whose shape allows that (a repetition around another repetition or an alternation, or
    three unbounded repetitions) are matched by `_NFA`, a Thompson simulation that is linear in the input;
    the others use `re`, which is faster on the common simple patterns."""
    try:
        translated = _translate_go_regexp(pattern)
        compiled = re.compile(translated)
    except (ValueError, re.error, RecursionError, OverflowError) as e:
        msg = str(e)
        if not msg.startswith(("error parsing regexp", "unsupported")):
            msg = f"error parsing regexp: {msg}"
        return None, msg
    nfa = _NFA.build(translated)
    if nfa is not None:
        return nfa.search, ""
    search = compiled.search
    return (lambda s: search(s) is not None), ""


# --- a linear-time matcher for risky patterns -------------------------------------------------------------------

_NFA_MAX_PROGRAM = 20000
_CHAR, _SPLIT, _JMP, _ASSERT, _MATCH = range(5)
_AT_BEGIN_STRING, _AT_END_STRING, _AT_BEGIN_LINE, _AT_END_LINE, _AT_BOUNDARY, _AT_NON_BOUNDARY = range(6)


class _NFAUnsupported(Exception):
    """The parse tree has something the NFA does not implement: use `re` instead."""


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class _NFA:
    """Thompson NFA over `re`'s own parse tree (so both engines read the pattern identically).

    A program is a list of instructions `(op, a, b)`: `_CHAR` with a predicate in `a`, `_SPLIT` to `a` and
    `b`, `_JMP` to `a`, `_ASSERT` of a zero-width condition `a`, `_MATCH`. `search` advances the set of live
    threads one character at a time: O(len(text) × len(program)), whatever the pattern."""

    __slots__ = ("prog",)

    def __init__(self, prog: list[tuple[int, Any, Any]]) -> None:
        self.prog = prog

    @classmethod
    def build(cls, translated: str, *, force: bool = False) -> _NFA | None:
        """The NFA for a risky pattern (any pattern with `force`), or None when `re` is safe enough or the
        pattern is beyond what the NFA implements."""
        # CPython's private sre modules, imported here and handed down as `C`: only risky patterns need them.
        import re._constants as C  # noqa: N812 - sre's opcode names
        import re._parser as P  # noqa: N812

        try:
            parsed = P.parse(translated, 0)
        except (re.error, RecursionError, OverflowError):  # pragma: no cover - compiled fine just before
            return None
        if not force and not _risky(parsed, C):
            return None
        prog: list[tuple[int, Any, Any]] = []
        try:
            _emit(list(parsed), parsed.state.flags, prog, C)
        except (_NFAUnsupported, RecursionError):
            return None
        prog.append((_MATCH, None, None))
        return cls(prog)

    def search(self, text: str) -> bool:
        prog = self.prog
        n = len(text)
        current: list[int] = []
        for pos in range(n + 1):
            # every position may start a match (unanchored search): add thread 0, then follow epsilons
            seen: set[int] = set()
            stack = [*reversed(current), 0]
            runnable: list[int] = []
            while stack:
                pc = stack.pop()
                if pc in seen:
                    continue
                seen.add(pc)
                op, a, b = prog[pc]
                if op == _CHAR:
                    runnable.append(pc)
                elif op == _MATCH:
                    return True
                elif op == _JMP:
                    stack.append(a)
                elif op == _SPLIT:
                    stack.append(b)
                    stack.append(a)
                elif _assert_holds(a, text, pos, n):
                    stack.append(pc + 1)
            if pos == n:
                break
            ch = text[pos]
            current = [pc + 1 for pc in runnable if prog[pc][1](ch)]
        return False


def _assert_holds(kind: int, text: str, pos: int, n: int) -> bool:
    if kind == _AT_BEGIN_STRING:
        return pos == 0
    if kind == _AT_END_STRING:
        return pos == n
    if kind == _AT_BEGIN_LINE:
        return pos == 0 or text[pos - 1] == "\n"
    if kind == _AT_END_LINE:
        return pos == n or text[pos] == "\n"
    before = pos > 0 and _is_word(text[pos - 1])
    after = pos < n and _is_word(text[pos])
    return (before != after) == (kind == _AT_BOUNDARY)


def _risky(items: Any, C: Any, inside_repeat: bool = False) -> bool:  # noqa: N803
    """Can backtracking blow up: a repetition (max > 1) around another one or around an alternation, or
    three or more unbounded repetitions in sequence?"""
    unbounded = 0
    for op, av in items:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, body = av
            if hi > 1 and inside_repeat:
                return True
            if hi == C.MAXREPEAT:
                unbounded += 1
            if _risky(body, C, inside_repeat or hi > 1):
                return True
        elif op == C.BRANCH:
            if inside_repeat:
                return True
            if any(_risky(alt, C, inside_repeat) for alt in av[1]):
                return True
        elif op in (C.SUBPATTERN, C.ATOMIC_GROUP):
            body = av[-1] if op == C.SUBPATTERN else av
            if _risky(body, C, inside_repeat):
                return True
    return unbounded >= 3


def _char_pred(op: Any, av: Any, flags: int, C: Any) -> Callable[[str], bool]:  # noqa: N803
    ignore = bool(flags & C.SRE_FLAG_IGNORECASE)
    if op == C.ANY:
        if flags & C.SRE_FLAG_DOTALL:
            return lambda ch: True
        return lambda ch: ch != "\n"
    if op in (C.LITERAL, C.NOT_LITERAL):
        lit = chr(av)
        if ignore:
            folded = lit.casefold()
            eq: Callable[[str], bool] = lambda ch: ch.casefold() == folded  # noqa: E731
        else:
            eq = lambda ch: ch == lit  # noqa: E731
        if op == C.LITERAL:
            return eq
        return lambda ch: not eq(ch)
    if op == C.IN:
        negate = False
        tests: list[Callable[[str], bool]] = []
        for item_op, item_av in av:
            if item_op == C.NEGATE:
                negate = True
            elif item_op == C.LITERAL:
                tests.append(functools.partial(str.__eq__, chr(item_av)))
            elif item_op == C.RANGE:
                tests.append(functools.partial(_in_range, item_av[0], item_av[1]))
            elif item_op == C.CATEGORY:
                tests.append(_category(item_av, C))
            else:
                raise _NFAUnsupported(str(item_op))

        def in_class(ch: str) -> bool:
            candidates = (ch, ch.lower(), ch.upper()) if ignore else (ch,)
            hit = any(t(c) for c in candidates for t in tests)
            return hit != negate

        return in_class
    raise _NFAUnsupported(str(op))


def _in_range(lo: int, hi: int, ch: str) -> bool:
    return lo <= ord(ch) <= hi


def _category(code: Any, C: Any) -> Callable[[str], bool]:  # noqa: N803
    table: dict[Any, Callable[[str], bool]] = {
        C.CATEGORY_DIGIT: lambda ch: ch.isdecimal(),
        C.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdecimal(),
        C.CATEGORY_WORD: _is_word,
        C.CATEGORY_NOT_WORD: lambda ch: not _is_word(ch),
        C.CATEGORY_SPACE: lambda ch: ch.isspace(),
        C.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
    }
    if code not in table:
        raise _NFAUnsupported(str(code))
    return table[code]


def _emit(items: list[Any], flags: int, prog: list[tuple[int, Any, Any]], C: Any) -> None:  # noqa: N803
    """Append the instructions for a sequence of parse-tree items."""
    for op, av in items:
        if len(prog) > _NFA_MAX_PROGRAM:
            raise _NFAUnsupported("too large")
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            prog.append((_CHAR, _char_pred(op, av, flags, C), None))
        elif op == C.AT:
            multiline = bool(flags & C.SRE_FLAG_MULTILINE)
            kinds = {
                C.AT_BEGINNING: _AT_BEGIN_LINE if multiline else _AT_BEGIN_STRING,
                C.AT_BEGINNING_STRING: _AT_BEGIN_STRING,
                C.AT_END: _AT_END_LINE if multiline else _AT_END_STRING,
                C.AT_END_STRING: _AT_END_STRING,
                C.AT_BOUNDARY: _AT_BOUNDARY,
                C.AT_NON_BOUNDARY: _AT_NON_BOUNDARY,
            }
            if av not in kinds:
                raise _NFAUnsupported(str(av))
            prog.append((_ASSERT, kinds[av], None))
        elif op == C.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            _emit(list(body), (flags | add_flags) & ~del_flags, prog, C)
        elif op == C.BRANCH:
            alternatives = av[1]
            jumps: list[int] = []
            for i, alt in enumerate(alternatives):
                if i < len(alternatives) - 1:
                    split = len(prog)
                    prog.append((_SPLIT, split + 1, None))
                    _emit(list(alt), flags, prog, C)
                    jumps.append(len(prog))
                    prog.append((_JMP, None, None))
                    prog[split] = (_SPLIT, split + 1, len(prog))
                else:
                    _emit(list(alt), flags, prog, C)
            for j in jumps:
                prog[j] = (_JMP, len(prog), None)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, body = av
            for _ in range(lo):
                _emit(list(body), flags, prog, C)
            if hi == C.MAXREPEAT:
                loop = len(prog)
                prog.append((_SPLIT, loop + 1, None))
                _emit(list(body), flags, prog, C)
                prog.append((_JMP, loop, None))
                prog[loop] = (_SPLIT, loop + 1, len(prog))
            else:
                splits = []
                for _ in range(hi - lo):
                    splits.append(len(prog))
                    prog.append((_SPLIT, len(prog) + 1, None))
                    _emit(list(body), flags, prog, C)
                for at in splits:
                    prog[at] = (_SPLIT, at + 1, len(prog))
        else:
            raise _NFAUnsupported(str(op))
