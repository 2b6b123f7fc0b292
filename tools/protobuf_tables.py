#!/usr/bin/env python3
"""Generate ``kube/endpoints/protobuf/upstream.py`` from the vendored upstream ``generated.proto`` files.

    .venv/bin/python tools/protobuf_tables.py           # rewrite the module
    .venv/bin/python tools/protobuf_tables.py --check   # exit 1 if the committed module is stale

Input: ``third_party/kubernetes-proto/k8s.io/...`` (verbatim upstream files, see the README there) and
the roots named in ``kube/endpoints/protobuf/kinds.py`` (the served kinds, the envelope, the special
types). Output: for every message reachable from those roots, its fields in declaration order (which
go-to-protobuf writes in Go struct order, i.e. the JSON key order) as ``(name, number, label, type)``,
with ``label`` one of ``optional``/``repeated``/``map`` and ``type`` a scalar name or the fully
qualified name of another message (for maps: the value type; keys are always strings here).

Why a generator and a committed module, not parsing at import: the vendored files are 420 KB, and
parsing them costs seconds in pure Python; the server needs only ~60 of their messages. The parser is
proto-schema-parser (pure Python, an ANTLR grammar of the protobuf language; requirements-dev.txt), so
refreshing needs neither protoc nor a compiled toolchain, and ``tests/kube/test_protobuf_tables.py``
regenerates the module in the test suite to prove the committed one is current.

Only what go-to-protobuf emits is supported: proto2 messages of scalar, message and
``map<string, V>`` fields, no nested declarations, enums, oneofs or groups; anything else is an error,
so an upstream change of shape is noticed at refresh time instead of mis-decoded at run time.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from proto_schema_parser import ast
from proto_schema_parser.parser import Parser

REPO = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO / "third_party" / "kubernetes-proto"
PACKAGE_DIR = REPO / "kube" / "endpoints" / "protobuf"
OUTPUT = PACKAGE_DIR / "upstream.py"

SCALARS = frozenset({"string", "bytes", "bool", "int32", "int64"})
"""The scalar types the decoder implements; another one in a reachable message is an error."""


@dataclass(frozen=True)
class ProtoField:
    name: str
    number: int
    label: str  # "optional" | "repeated" | "map"
    type: str  # a scalar name or a fully qualified message name (no leading dot)


@dataclass(frozen=True)
class ProtoMessage:
    full_name: str
    source: str  # import path of the file declaring it
    fields: tuple[ProtoField, ...]


def _parse_file(path: Path) -> tuple[str, list[ast.Message]]:
    tree = Parser().parse(path.read_text(encoding="utf-8"))
    packages = [e.name for e in tree.file_elements if isinstance(e, ast.Package)]
    if len(packages) != 1:
        raise SystemExit(f"{path}: expected exactly one package statement")
    return packages[0], [e for e in tree.file_elements if isinstance(e, ast.Message)]


def _resolve(type_name: str, package: str, known: Mapping[str, object], where: str) -> str:
    """Resolve a field's type name with protobuf's scoping rules (innermost package first)."""
    if type_name in SCALARS:
        return type_name
    if type_name.startswith("."):
        candidate = type_name[1:]
        if candidate in known:
            return candidate
    else:
        scope = package.split(".")
        while scope:
            candidate = ".".join([*scope, type_name])
            if candidate in known:
                return candidate
            scope.pop()
        if type_name in known:
            return type_name
    raise SystemExit(f"{where}: unknown or unsupported type {type_name!r}")


def load(proto_root: Path = PROTO_ROOT) -> dict[str, ProtoMessage]:
    """Every message of every vendored file, by fully qualified name, with field types resolved."""
    parsed: list[tuple[str, str, ast.Message]] = []
    for path in sorted(proto_root.rglob("*.proto")):
        package, messages = _parse_file(path)
        source = path.relative_to(proto_root).as_posix()
        parsed.extend((source, package, msg) for msg in messages)
    known = {f"{package}.{msg.name}": msg for _, package, msg in parsed}
    registry: dict[str, ProtoMessage] = {}
    for source, package, msg in parsed:
        full = f"{package}.{msg.name}"
        fields: list[ProtoField] = []
        for element in msg.elements:
            where = f"{source}: {full}"
            if isinstance(element, (ast.Comment, ast.Option, ast.Reserved)):
                continue
            if isinstance(element, ast.MapField):
                if element.key_type != "string":
                    raise SystemExit(f"{where}.{element.name}: map keys other than string are not supported")
                value = _resolve(element.value_type, package, known, f"{where}.{element.name}")
                fields.append(ProtoField(element.name, element.number, "map", value))
            elif isinstance(element, ast.Field):
                card = element.cardinality
                label = "repeated" if card is ast.FieldCardinality.REPEATED else "optional"
                if card not in (ast.FieldCardinality.REPEATED, ast.FieldCardinality.OPTIONAL):
                    raise SystemExit(f"{where}.{element.name}: cardinality {card} is not supported")
                type_ = _resolve(element.type, package, known, f"{where}.{element.name}")
                fields.append(ProtoField(element.name, element.number, label, type_))
            else:
                raise SystemExit(f"{where}: {type(element).__name__} declarations are not supported")
        registry[full] = ProtoMessage(full, source, tuple(fields))
    return registry


def load_roots(package_dir: Path = PACKAGE_DIR) -> tuple[str, ...]:
    """The root message names from kinds.py, loaded by path: it is a leaf module of plain data, and
    importing the package would import the very module being (re)generated."""
    spec = importlib.util.spec_from_file_location("_protobuf_kinds", package_dir / "kinds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.ROOTS)


def closure(registry: Mapping[str, ProtoMessage], roots: Iterable[str]) -> list[ProtoMessage]:
    """The messages reachable from ``roots``, sorted by name."""
    seen: dict[str, ProtoMessage] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in registry:
            raise SystemExit(f"root or field type {name!r} is not declared in the vendored .proto files")
        msg = seen[name] = registry[name]
        pending.extend(f.type for f in msg.fields if f.type not in SCALARS)
    return [seen[name] for name in sorted(seen)]


HEADER = '''"""Field tables of the upstream protobuf messages this server decodes. GENERATED: do not edit.

Written by ``tools/protobuf_tables.py`` from the vendored ``third_party/kubernetes-proto`` files (the
messages reachable from ``kinds.ROOTS``). Each message maps to its fields in declaration order (Go
struct order) as ``(name, number, label, type)``: ``label`` is ``optional``, ``repeated`` or ``map``,
``type`` a scalar name or another message's full name (for a map, the value type; keys are strings).
"""

from typing import Final

Descriptor = tuple[tuple[str, int, str, str], ...]
'''


def render(messages: Iterable[ProtoMessage]) -> str:
    lines = [HEADER, "MESSAGES: Final[dict[str, Descriptor]] = {"]
    for msg in messages:
        lines.append(f"    # {msg.source}")
        rows = [f'("{f.name}", {f.number}, "{f.label}", "{f.type}"),' for f in msg.fields]
        one_line = f'    "{msg.full_name}": ({rows[0]}),' if len(rows) == 1 else ""
        if one_line and len(one_line) <= 120:  # as ruff format writes a one-element tuple that fits
            lines.append(one_line)
            continue
        lines.append(f'    "{msg.full_name}": (')
        lines.extend(f"        {row}" for row in rows)
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def generate(proto_root: Path = PROTO_ROOT, package_dir: Path = PACKAGE_DIR) -> str:
    return render(closure(load(proto_root), load_roots(package_dir)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed module is not current")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(REPO)} is stale: run tools/protobuf_tables.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
