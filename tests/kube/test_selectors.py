"""kube.selectors: label and field selectors, checked against apimachinery's behaviour and messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kube.errors import BadRequest
from kube.selectors import (
    FieldRequirement,
    FieldSelector,
    LabelSelector,
    Op,
    Requirement,
    escape_field_value,
    label_selector_from_dict,
    parse_field_selector,
    parse_label_selector,
    unescape_field_value,
)

R = Requirement
KEY_REGEX_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_REGEX_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
OPERATORS = "in, notin, =, ==, !=, gt, lt"


# --- label selector parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=b", [R("a", Op.EQUALS, ("b",))]),
        ("a==b", [R("a", Op.EQUALS, ("b",))]),
        ("a!=b", [R("a", Op.NOT_EQUALS, ("b",))]),
        ("a", [R("a", Op.EXISTS, ())]),
        ("!a", [R("a", Op.DOES_NOT_EXIST, ())]),
        ("a in (x,y)", [R("a", Op.IN, ("x", "y"))]),
        ("a notin (x,y)", [R("a", Op.NOT_IN, ("x", "y"))]),
        ("k>5", [R("k", Op.GREATER_THAN, ("5",))]),
        ("k<05", [R("k", Op.LESS_THAN, ("05",))]),
        ("k>9223372036854775807", [R("k", Op.GREATER_THAN, ("9223372036854775807",))]),
        # Empty values.
        ("x=", [R("x", Op.EQUALS, ("",))]),
        ("x= ", [R("x", Op.EQUALS, ("",))]),
        ("x=,z= ", [R("x", Op.EQUALS, ("",)), R("z", Op.EQUALS, ("",))]),
        ("x!=", [R("x", Op.NOT_EQUALS, ("",))]),
        ("z notin ()", [R("z", Op.NOT_IN, ("",))]),
        # Values are de-duplicated and sorted; "" appears for leading, doubled and trailing commas.
        ("x in (foo,,baz)", [R("x", Op.IN, ("", "baz", "foo"))]),
        ("x in (,a)", [R("x", Op.IN, ("", "a"))]),
        ("x in (a,)", [R("x", Op.IN, ("", "a"))]),
        ("x in (b,a,b)", [R("x", Op.IN, ("a", "b"))]),
        ("x in (,)", [R("x", Op.IN, ("",))]),
        # Comma = AND, requirements sorted by key (stable for equal keys).
        ("x=a,a=x", [R("a", Op.EQUALS, ("x",)), R("x", Op.EQUALS, ("a",))]),
        ("b,a=1,b!=2", [R("a", Op.EQUALS, ("1",)), R("b", Op.EXISTS, ()), R("b", Op.NOT_EQUALS, ("2",))]),
        (
            "x in (foo,,baz),y,z notin ()",
            [R("x", Op.IN, ("", "baz", "foo")), R("y", Op.EXISTS, ()), R("z", Op.NOT_IN, ("",))],
        ),
        # Whitespace tolerance.
        ("  a = b ,\tc\n,\r!d ", [R("a", Op.EQUALS, ("b",)), R("c", Op.EXISTS, ()), R("d", Op.DOES_NOT_EXIST, ())]),
        ("a in(x , y )", [R("a", Op.IN, ("x", "y"))]),
        ("! a", [R("a", Op.DOES_NOT_EXIST, ())]),
        # Prefixed keys.
        ("app.kubernetes.io/name=web", [R("app.kubernetes.io/name", Op.EQUALS, ("web",))]),
        ("example.com/Key_1.x in (V-1)", [R("example.com/Key_1.x", Op.IN, ("V-1",))]),
        # "in" and "notin" are ordinary words where a key or value is expected.
        ("in in (in)", [R("in", Op.IN, ("in",))]),
        ("notin=in", [R("notin", Op.EQUALS, ("in",))]),
        ("notin notin (notin)", [R("notin", Op.NOT_IN, ("notin",))]),
        ("in", [R("in", Op.EXISTS, ())]),
        ("!notin", [R("notin", Op.DOES_NOT_EXIST, ())]),
        # Nothing at all.
        ("", []),
        ("   ", []),
        ("\t\n", []),
        # Upstream's lexer stops at NUL; a NUL right after a comma ends a token like whitespace would.
        ("a,\x00b", [R("a", Op.EXISTS, ()), R("b", Op.EXISTS, ())]),
        ("a=b\x00", [R("a", Op.EQUALS, ("b",))]),
    ],
)
def test_parse_label_selector(text: str, expected: list[Requirement]) -> None:
    assert list(parse_label_selector(text).requirements) == expected


def test_parse_label_selector_none_is_everything() -> None:
    assert parse_label_selector(None) == LabelSelector()


@pytest.mark.parametrize("value", [5, ["a=b"], b"a=b"])
def test_parse_selectors_reject_non_strings(value: Any) -> None:
    with pytest.raises(BadRequest):
        parse_label_selector(value)
    with pytest.raises(BadRequest):
        parse_field_selector(value, ALLOWED)


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        # apimachinery TestSelectorParse good strings: String() equals the input without spaces.
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("", ""),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("x in (b,a)", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("a==b", "a=b"),  # == is normalised
    ],
)
def test_label_selector_str(text: str, rendered: str) -> None:
    assert str(parse_label_selector(text)) == rendered


def test_parse_is_deterministic() -> None:
    assert parse_label_selector("x=a,a=x") == parse_label_selector("a=x,x=a")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Structure errors (not wrapped).
        ("a,", "found '', expected: identifier after ','"),
        ("a=b,,c", "found ',', expected: identifier after ','"),
        ("a=b,=c", "found '=', expected: identifier after ','"),
        (",", "found ',', expected: !, identifier, or 'end of string'"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("(a)", "found '(', expected: !, identifier, or 'end of string'"),
        ("x==a==b", "found '==', expected: ',' or 'end of string'"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a in (b) c", "found 'c', expected: ',' or 'end of string'"),
        # "|" is not an operator character, so "a||y" is one (invalid) value.
        ("x=a||y=b", f'unable to parse requirement: values[0][x]: Invalid value: "a||y": {VALUE_REGEX_MSG}'),
        # Requirement errors (wrapped).
        ("a b", f"unable to parse requirement: found 'b', expected: {OPERATORS}"),
        ("a b c", f"unable to parse requirement: found 'b', expected: {OPERATORS}"),
        ("a (b)", f"unable to parse requirement: found '(', expected: {OPERATORS}"),
        ("a !b", f"unable to parse requirement: found '!', expected: {OPERATORS}"),
        ("a<=5", "unable to parse requirement: found '=', expected: identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("!!a", "unable to parse requirement: found '!', expected: identifier"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in", "unable to parse requirement: found '' expected: '('"),
        ("a notin (", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in (b,", "unable to parse requirement: found '', expected: ',', or identifier"),
        ("a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("a!=)", "unable to parse requirement: found ')', expected: identifier"),
        ("IN IN (a)", f"unable to parse requirement: found 'IN', expected: {OPERATORS}"),
        # Key validation: upstream reports it against a nil path.
        ("a:", f'unable to parse requirement: <nil>: Invalid value: "a:": {KEY_REGEX_MSG}'),
        ("-a=b", f'unable to parse requirement: <nil>: Invalid value: "-a": {KEY_REGEX_MSG}'),
        ("A/b=c", f'unable to parse requirement: <nil>: Invalid value: "A/b": prefix part {SUBDOMAIN_MSG}'),
        ("/b", 'unable to parse requirement: <nil>: Invalid value: "/b": prefix part must be non-empty'),
        (
            "a/",
            f'unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; {KEY_REGEX_MSG}',
        ),
        (
            "a" * 64,
            f'unable to parse requirement: <nil>: Invalid value: "{"a" * 64}": name part must be no more than 63 bytes',
        ),
        (
            "a/b/c",
            'unable to parse requirement: <nil>: Invalid value: "a/b/c": a valid label key must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')",
        ),
        ('a"b', f'unable to parse requirement: <nil>: Invalid value: "a\\"b": {KEY_REGEX_MSG}'),
        ("\x01", f'unable to parse requirement: <nil>: Invalid value: "\\x01": {KEY_REGEX_MSG}'),
        ("é", f'unable to parse requirement: <nil>: Invalid value: "é": {KEY_REGEX_MSG}'),
        # Value validation: path values[i][key].
        ("a=$", f'unable to parse requirement: values[0][a]: Invalid value: "$": {VALUE_REGEX_MSG}'),
        ("a in (ok,-x)", f'unable to parse requirement: values[0][a]: Invalid value: "-x": {VALUE_REGEX_MSG}'),
        (
            "a=" + "v" * 64,
            f'unable to parse requirement: values[0][a]: Invalid value: "{"v" * 64}": must be no more than 63 bytes',
        ),
        (
            "a in (-x,-y)",
            f'unable to parse requirement: [values[0][a]: Invalid value: "-x": {VALUE_REGEX_MSG}, '
            f'values[1][a]: Invalid value: "-y": {VALUE_REGEX_MSG}]',
        ),
        # gt/lt operands must be int64 (and still valid label values).
        (
            "x<a",
            'unable to parse requirement: values[0]: Invalid value: "a": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "x>",
            'unable to parse requirement: values[0]: Invalid value: "": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "x>1.5",
            'unable to parse requirement: values[0]: Invalid value: "1.5": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "x>9223372036854775808",
            'unable to parse requirement: values[0]: Invalid value: "9223372036854775808": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("x>-5", f'unable to parse requirement: values[0][x]: Invalid value: "-5": {VALUE_REGEX_MSG}'),
        (
            "x>_1",
            "unable to parse requirement: ["
            "values[0]: Invalid value: \"_1\": for 'Gt', 'Lt' operators, the value must be an integer, "
            f'values[0][x]: Invalid value: "_1": {VALUE_REGEX_MSG}]',
        ),
    ],
)
def test_parse_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        parse_label_selector(text)
    assert exc.value.message == message
    assert exc.value.code == 400
    assert exc.value.status()["reason"] == "BadRequest"


# --- label selector matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        # apimachinery TestSelectorMatches.
        ("", {"x": "y"}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("notin=in", {"notin": "in"}, True),
        ("x", {"x": "z"}, True),
        ("!x", {"y": "z"}, True),
        ("x>1", {"x": "2"}, True),
        ("x<1", {"x": "0"}, True),
        ("x=z", {}, False),
        ("x=y", {"x": "z"}, False),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("x", {"y": "z"}, False),
        ("!x", {"x": "z"}, False),
        ("x>1", {"x": "0"}, False),
        ("x<1", {"x": "2"}, False),
        # Missing keys: only negative operators match.
        ("x!=y", {}, True),
        ("x notin (a)", {}, True),
        ("x in (a)", {}, False),
        ("x>1", {}, False),
        ("x<1", {}, False),
        # Empty values are real values.
        ("x=", {"x": ""}, True),
        ("x=", {}, False),
        ("x!=", {}, True),
        ("x!=", {"x": ""}, False),
        ("x in ()", {"x": ""}, True),
        ("x in (a,)", {"x": ""}, True),
        ("x notin ()", {"x": "a"}, True),
        ("x notin ()", {"x": ""}, False),
        ("x in (a,b)", {"x": "b"}, True),
        ("x in (a,b)", {"x": "c"}, False),
        ("x notin (a,b)", {"x": "b"}, False),
        ("x notin (a,b)", {"x": "c"}, True),
        # gt/lt compare as integers, never as strings, and never match non-integers.
        ("x>9", {"x": "10"}, True),
        ("x<10", {"x": "9"}, True),
        ("x>1", {"x": "1"}, False),
        ("x>1", {"x": "abc"}, False),
        ("x<1", {"x": "abc"}, False),
        ("x>1", {"x": "+2"}, True),
        ("x<0", {"x": "-1"}, True),
        ("x>1", {"x": "2.0"}, False),
        ("x>1", {"x": " 2"}, False),
        ("x>1", {"x": "9223372036854775808"}, False),
        ("x>1", {"x": "٣"}, False),  # non-ASCII digit
        # Case matters.
        ("x=Y", {"x": "y"}, False),
        ("X", {"x": "y"}, False),
        # Everything together.
        ("app=web,tier in (fe,be),!legacy,env!=prod", {"app": "web", "tier": "fe", "env": "dev"}, True),
        ("app=web,tier in (fe,be),!legacy,env!=prod", {"app": "web", "tier": "fe", "legacy": ""}, False),
    ],
)
def test_label_selector_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


def test_matches_none_labels_as_empty() -> None:
    assert parse_label_selector("").matches(None)
    assert parse_label_selector("!a").matches(None)
    assert parse_label_selector("a!=b").matches(None)
    assert not parse_label_selector("a").matches(None)


def test_empty_and_requires_exact_match() -> None:
    assert parse_label_selector("").empty
    assert not parse_label_selector("a").empty
    sel = parse_label_selector("a=1,b in (2),c in (3,4),d!=5,e")
    assert sel.requires_exact_match("a") == "1"
    assert sel.requires_exact_match("b") == "2"
    assert sel.requires_exact_match("c") is None
    assert sel.requires_exact_match("d") is None
    assert sel.requires_exact_match("e") is None
    assert sel.requires_exact_match("zzz") is None
    assert parse_label_selector("a=").requires_exact_match("a") == ""


def test_requirements_unpack_for_storage() -> None:
    sel = parse_label_selector("b in (y,x),a")
    translated = [(key, str(op), list(values)) for key, op, values in sel.requirements]
    assert translated == [("a", "exists", []), ("b", "in", ["x", "y"])]
    with pytest.raises(AttributeError):
        sel.requirements = ()  # type: ignore[misc]


# --- metav1.LabelSelector objects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({}, []),
        ({"matchLabels": None, "matchExpressions": None}, []),
        ({"matchLabels": {"b": "2", "a": "1"}}, [R("a", Op.EQUALS, ("1",)), R("b", Op.EQUALS, ("2",))]),
        ({"matchLabels": {"a": ""}}, [R("a", Op.EQUALS, ("",))]),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                    {"key": "env", "operator": "NotIn", "values": ["prod"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                    {"key": "app.kubernetes.io/name", "operator": "Exists", "values": []},
                ],
            },
            [
                R("app", Op.EQUALS, ("web",)),
                R("app.kubernetes.io/name", Op.EXISTS, ()),
                R("canary", Op.DOES_NOT_EXIST, ()),
                R("env", Op.NOT_IN, ("prod",)),
                R("tier", Op.IN, ("fe", "be")),  # order kept, as upstream
            ],
        ),
    ],
)
def test_label_selector_from_dict(obj: dict[str, Any], expected: list[Requirement]) -> None:
    sel = label_selector_from_dict(obj)
    assert list(sel.requirements) == expected
    assert not sel.nothing


def test_null_label_selector_matches_nothing() -> None:
    sel = label_selector_from_dict(None)
    assert sel.nothing
    assert not sel.empty
    assert not sel.matches({})
    assert not sel.matches({"a": "b"})
    everything = label_selector_from_dict({})
    assert everything.empty
    assert everything.matches({"a": "b"})


def test_label_selector_from_dict_matches() -> None:
    sel = label_selector_from_dict(
        {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}]}
    )
    assert sel.matches({"app": "web", "tier": "fe"})
    assert not sel.matches({"app": "web", "tier": "be"})
    assert not sel.matches({"tier": "fe"})


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
            '"Gt" is not a valid label selector operator',
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "in", "values": ["1"]}]},
            '"in" is not a valid label selector operator',
        ),
        ({"matchExpressions": [{"key": "a"}]}, '"" is not a valid label selector operator'),
        (
            {"matchExpressions": [{"key": "a", "operator": "In"}]},
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": []}]},
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
        ),
        ({"matchLabels": {"a b": "c"}}, f'key: Invalid value: "a b": {KEY_REGEX_MSG}'),
        ({"matchLabels": {"a": "b c"}}, f'values[0][a]: Invalid value: "b c": {VALUE_REGEX_MSG}'),
        (
            {"matchExpressions": [{"key": "", "operator": "In", "values": ["-"]}]},
            f'[key: Invalid value: "": name part must be non-empty; {KEY_REGEX_MSG}, '
            f'values[0][]: Invalid value: "-": {VALUE_REGEX_MSG}]',
        ),
    ],
)
def test_label_selector_from_dict_errors(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        label_selector_from_dict(obj)
    assert exc.value.message == message


@pytest.mark.parametrize(
    "obj",
    [
        [],
        "app=web",
        {"matchLabels": ["a"]},
        {"matchLabels": {"a": 1}},
        {"matchExpressions": {"key": "a"}},
        {"matchExpressions": ["a"]},
        {"matchExpressions": [{"key": 1, "operator": "Exists"}]},
        {"matchExpressions": [{"key": "a", "operator": 1}]},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": "x"}]},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]},
    ],
)
def test_label_selector_from_dict_type_errors_are_bad_requests(obj: Any) -> None:
    with pytest.raises(BadRequest):
        label_selector_from_dict(obj)


# --- field selectors ---------------------------------------------------------------------------------------

ALLOWED = {"metadata.name", "metadata.namespace", "type", "spec.odd,name"}
F = FieldRequirement


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("metadata.name=a", [F("metadata.name", Op.EQUALS, "a")]),
        ("metadata.name==a", [F("metadata.name", Op.EQUALS, "a")]),
        ("metadata.name!=a", [F("metadata.name", Op.NOT_EQUALS, "a")]),
        ("metadata.name=", [F("metadata.name", Op.EQUALS, "")]),
        (
            "metadata.namespace=ns,metadata.name!=x",
            [F("metadata.name", Op.NOT_EQUALS, "x"), F("metadata.namespace", Op.EQUALS, "ns")],
        ),
        # Empty terms are skipped.
        (",metadata.name=a,,", [F("metadata.name", Op.EQUALS, "a")]),
        # Escapes.
        (r"metadata.name=a\,b", [F("metadata.name", Op.EQUALS, "a,b")]),
        (r"metadata.name=a\=b", [F("metadata.name", Op.EQUALS, "a=b")]),
        (r"metadata.name=a\\b", [F("metadata.name", Op.EQUALS, "a\\b")]),
        (r"metadata.name=\\\,\=", [F("metadata.name", Op.EQUALS, "\\,=")]),
        # The first operator wins; other special characters are plain value text.
        ("metadata.name=!a", [F("metadata.name", Op.EQUALS, "!a")]),
        ("type=kubernetes.io/service-account-token", [F("type", Op.EQUALS, "kubernetes.io/service-account-token")]),
        ("metadata.name=a b", [F("metadata.name", Op.EQUALS, "a b")]),
        ("metadata.name=é", [F("metadata.name", Op.EQUALS, "é")]),
        ("type=", [F("type", Op.EQUALS, "")]),
    ],
)
def test_parse_field_selector(text: str, expected: list[FieldRequirement]) -> None:
    assert list(parse_field_selector(text, ALLOWED).requirements) == expected


def test_parse_field_selector_none_is_everything() -> None:
    assert parse_field_selector(None, ALLOWED) == FieldSelector()
    assert parse_field_selector("", set()).empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
        ("metadata.name=a,foo", "invalid selector: 'metadata.name=a,foo'; can't understand 'foo'"),
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        ("metadata.name!a", "invalid selector: 'metadata.name!a'; can't understand 'metadata.name!a'"),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
        ("metadata.name===b", "invalid field selector: unescaped character in value: 61"),
        (r"metadata.name=a\x", "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
        ("spec.nodeName=n1", "field label not supported: spec.nodeName"),
        ("=a", "field label not supported: "),
        # Whitespace is not trimmed: the field is "metadata.name ".
        ("metadata.name = a", "field label not supported: metadata.name "),
        # Terms are checked in sorted order, syntax before field names.
        ("z=1,b=2", "field label not supported: b"),
        ("z=1,metadata.name", "invalid selector: 'z=1,metadata.name'; can't understand 'metadata.name'"),
        (r"spec.odd\,name=x", "field label not supported: spec.odd\\,name"),
    ],
)
def test_parse_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        parse_field_selector(text, ALLOWED)
    assert exc.value.message == message
    assert exc.value.code == 400


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("", {}, True),
        ("metadata.name=a", {"metadata.name": "a"}, True),
        ("metadata.name=a", {"metadata.name": "b"}, False),
        ("metadata.name!=a", {"metadata.name": "b"}, True),
        ("metadata.name!=a", {"metadata.name": "a"}, False),
        # A missing field reads as "".
        ("metadata.name=a", {}, False),
        ("metadata.name!=a", {}, True),
        ("metadata.name=", {}, True),
        ("metadata.name!=", {}, False),
        ("metadata.name=a,metadata.namespace=n", {"metadata.name": "a", "metadata.namespace": "n"}, True),
        ("metadata.name=a,metadata.namespace=n", {"metadata.name": "a", "metadata.namespace": "m"}, False),
        (r"metadata.name=a\,b", {"metadata.name": "a,b"}, True),
    ],
)
def test_field_selector_matches(text: str, fields: dict[str, str], expected: bool) -> None:
    assert parse_field_selector(text, ALLOWED).matches(fields) is expected


def test_field_selector_exact_match_and_str() -> None:
    sel = parse_field_selector(r"metadata.namespace!=x,metadata.name=a\,b", ALLOWED)
    assert sel.requires_exact_match("metadata.name") == "a,b"
    assert sel.requires_exact_match("metadata.namespace") is None
    assert sel.requires_exact_match("type") is None
    assert str(sel) == r"metadata.name=a\,b,metadata.namespace!=x"
    assert parse_field_selector(str(sel), ALLOWED) == sel


@pytest.mark.parametrize("value", ["", "plain", "a,b", "a=b", "a\\b", "\\,=", "=,\\\\", "é ö"])
def test_escape_round_trip(value: str) -> None:
    assert unescape_field_value(escape_field_value(value)) == value


# --- adversarial input -------------------------------------------------------------------------------------

SELECTOR_ALPHABET = st.sampled_from(
    list("ab01-_./ =!(),<>\t\n\\\"'") + ["in", "notin", "\x00", "é", "é", "ǅ", "\u2028", "\ud800", "🙂"]
)
GARBAGE = st.one_of(
    st.text(max_size=60),
    st.lists(SELECTOR_ALPHABET, max_size=30).map("".join),
)


@settings(max_examples=2000, deadline=None)
@given(GARBAGE)
def test_garbage_label_selectors_only_raise_bad_request(text: str) -> None:
    try:
        sel = parse_label_selector(text)
    except BadRequest as exc:
        assert exc.message
        return
    # Whatever parses renders back to an equivalent selector, and matching never fails.
    assert parse_label_selector(str(sel)) == sel
    sel.matches({"a": "b", "in": "1", "0": ""})


@settings(max_examples=2000, deadline=None)
@given(GARBAGE, st.sets(st.sampled_from(["a", "b", "a ", "in", "", "metadata.name"])))
def test_garbage_field_selectors_only_raise_bad_request(text: str, allowed: set[str]) -> None:
    try:
        sel = parse_field_selector(text, allowed)
    except BadRequest as exc:
        assert exc.message
        return
    assert all(r.field in allowed for r in sel.requirements)
    sel.matches({"a": "x"})


JSONISH: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
SELECTOR_OBJECT = st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": st.one_of(JSONISH, st.dictionaries(st.sampled_from(["a", "b/c", "", "-"]), JSONISH)),
        "matchExpressions": st.one_of(
            JSONISH,
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "key": st.one_of(JSONISH, st.sampled_from(["a", "x/y", ""])),
                        "operator": st.one_of(JSONISH, st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"])),
                        "values": st.one_of(JSONISH, st.lists(st.sampled_from(["", "v", "-"]), max_size=3)),
                    },
                ),
                max_size=3,
            ),
        ),
    },
)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(JSONISH, SELECTOR_OBJECT))
def test_garbage_selector_objects_only_raise_bad_request(obj: Any) -> None:
    try:
        sel = label_selector_from_dict(obj)
    except BadRequest:
        return
    sel.matches({"a": "v"})
