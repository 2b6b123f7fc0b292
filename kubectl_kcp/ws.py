"""`kubectl ws` (console script `kubectl-ws`): kcp's workspace navigation plugin (reference/kcp.md §7).

    kubectl ws [<path>|.|..|-|:|~]      enter a workspace (no argument: print the current one, see below)
    kubectl ws use|cd <path>            the same, explicitly
    kubectl ws current [--short]        print the current workspace (= `kubectl ws .`)
    kubectl ws tree [-f] [--wide]       the tree of workspaces below the current one
    kubectl ws create NAME [--type T] [--enter] [--ignore-existing]   (deprecated in kcp; = kubectl create-workspace)

Paths: `:root:a` is absolute, `a:b` relative to the current workspace, `.` the current one, `..`
its parent (`..:..` and `a:..:b` work), `-` the previous one, `:` the current root; `root` and
`root:...` are still taken as absolute with kcp's deprecation note; `/` separates like `:`.

Entering a workspace first checks that it exists and is reachable (the LogicalCluster `cluster`
inside it, then the Workspace in its parent), failing with kcp's words: `workspace "root:x" not
found` or `access to workspace "root:x" denied`. Then the kubeconfig is rewritten as kcp's plugin
does (see `kubeconfig.switch_to`) and `Current workspace is 'root:a' (type root:universal).` is printed.

Differences from kcp's plugin: home workspaces (`~`, `~:child`) are not served by this server yet,
so they fail with a clear error, and plain `kubectl ws` prints the current workspace instead of
going home. Not implemented: `-i` (interactive browser), `create-context`, the `--workspace` flag
and the warnings about unaccepted permission claims of APIBindings.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from .kubeconfig import (
    ApiError,
    Client,
    Obj,
    PluginError,
    Session,
    add_connection_flags,
    parse_cluster_url,
    quote,
    run_plugin,
    swap_to_previous,
    switch_to,
)

ROOT = "root"
TENANCY = "/apis/tenancy.kcp.io/v1alpha1"
LOGICAL_CLUSTER = "/apis/core.kcp.io/v1alpha1/logicalclusters/cluster"
SEGMENT = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
HOME_UNSUPPORTED = (
    "home workspaces ('~') are not implemented by this server yet; "
    "enter a workspace by its path instead, e.g. 'kubectl ws :root'"
)
ROOT_NOTE = (
    "Note: Using 'root:' to define an absolute path is no longer supported. "
    "Instead, use ':root' to specify an absolute path.\n"
)
SUBCOMMANDS = ("use", "cd", "current", "tree", "create", "create-context")


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


def is_valid_path(path: str) -> bool:
    """Whether `path` is `:`-joined segments of `[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?` (kcp's logicalcluster)."""
    return bool(path) and all(SEGMENT.fullmatch(segment) for segment in path.split(":"))


def normalize_argument(arg: str, home_dir: str | None = None) -> tuple[str, bool]:
    """kcp's preprocessing of a `kubectl ws` argument: `(name, legacy_absolute)`.

    A shell-expanded home directory (`kubectl ws ~/a` arrives as `/home/me/a`) turns back into
    `~`, `/` becomes `:`, and `root` / `root:...` become absolute (`legacy_absolute` says so: kcp
    prints a deprecation note then)."""
    name = arg
    if home_dir and home_dir != "/" and (name == home_dir or name.startswith(home_dir.rstrip("/") + "/")):
        name = "~" + name[len(home_dir.rstrip("/")) :]
    name = name.replace("/", ":")
    legacy = name == ROOT or name.startswith(ROOT + ":")
    return (":" + name if legacy else name), legacy


def resolve_path(name: str, current: str, original: str | None = None) -> str:
    """The absolute workspace path `name` designates when the current workspace is `current`.

    `name` is absolute with a leading `:`, else relative to `current`; `.` segments are dropped and
    `..` segments go up. Raises PluginError `cannot go up from root` when `..` would leave the
    hierarchy and `invalid workspace path: <original>` when the result is not a valid path."""
    joined = name[1:] if name.startswith(":") else f"{current}:{name}"
    segments: list[str] = []
    for part in joined.split(":"):
        if part == ".":
            continue
        if part == "..":
            if len(segments) <= 1:
                raise PluginError("cannot go up from root")
            segments.pop()
            continue
        segments.append(part)
    path = ":".join(segments)
    if not is_valid_path(path):
        raise PluginError(f"invalid workspace path: {name if original is None else original}")
    return path


def format_type(type_ref: Obj | None) -> str | None:
    """A WorkspaceType reference `{name, path}` as kcp prints it: `root:universal` (or just `name`)."""
    if not type_ref or not type_ref.get("name"):
        return None
    return ":".join(p for p in (str(type_ref.get("path") or ""), str(type_ref["name"])) if p)


def print_current(out: TextIO, server: str, short: bool = False, type_ref: Obj | None = None) -> None:
    """kcp's `printCurrentWorkspace`: `Current workspace is 'root:a' (type root:universal).`

    `short` prints the bare path; a server URL without `/clusters/<path>` prints
    `Current workspace is the URL "https://...".` (nothing when `short`)."""
    parsed = parse_cluster_url(server)
    if parsed is None or not is_valid_path(parsed[1]):
        if not short:
            out.write(f"Current workspace is the URL {quote(server)}.\n")
        return
    if short:
        out.write(parsed[1] + "\n")
        return
    type_name = format_type(type_ref)
    out.write(f"Current workspace is '{parsed[1]}'" + (f" (type {type_name})" if type_name else "") + ".\n")


# --------------------------------------------------------------------------------------------
# use / current
# --------------------------------------------------------------------------------------------


def check_workspace(client: Client, path: str) -> Obj | None:
    """Verify that workspace `path` exists and is reachable; returns its type reference if known.

    Reachable: GET of its LogicalCluster `cluster` succeeds (403/404 mean "denied"). Exists: its
    parent has Workspace `<last segment>` (404 means "not found"; other failures there are not
    conclusive, as in kcp). Denied and not found → `workspace "p" not found`; denied only →
    `access to workspace "p" denied`. Other HTTP errors of the first GET propagate as ApiError."""
    try:
        client.get(f"/clusters/{path}{LOGICAL_CLUSTER}")
        denied = False
    except ApiError as e:
        if e.status not in (403, 404):
            raise
        denied = True
    type_ref: Obj | None = None
    not_found = False
    if path == ROOT:
        type_ref = {"name": ROOT}
    else:
        parent, _, name = path.rpartition(":")
        if parent:
            try:
                ws = client.get(f"/clusters/{parent}{TENANCY}/workspaces/{name}")
                spec_type = (ws.get("spec") or {}).get("type")
                type_ref = spec_type if isinstance(spec_type, dict) else None
            except ApiError as e:
                not_found = e.status == 404
    if denied and not_found:
        raise PluginError(f"workspace {quote(path)} not found")
    if denied:
        raise PluginError(f"access to workspace {quote(path)} denied")
    return type_ref


def enter(session: Session, base: str, path: str, type_ref: Obj | None, short: bool = False) -> None:
    """Rewrite the kubeconfig to workspace `path` under `base` and print the current workspace."""
    server = f"{base}/clusters/{path}"
    switch_to(session.config, session.context_name, server)
    session.config.save()
    print_current(session.out, server, short, type_ref)


def use(session: Session, arg: str, *, short: bool = False, home_dir: str | None = None) -> None:
    """`kubectl ws use ARG`: enter the workspace ARG designates (see the module doc for the forms).

    Every failure is a PluginError with kcp's wording; the kubeconfig is untouched then."""
    name, legacy = normalize_argument(arg, home_dir)
    if legacy and not short:
        session.err.write(ROOT_NOTE)
    if name == "" or name == "~" or name.startswith("~:"):
        raise PluginError(HOME_UNSUPPORTED)
    if name == "-":
        server = swap_to_previous(session.config, session.context_name)
        session.config.save()
        print_current(session.out, server, short)
        return
    if name == ".":
        print_current(session.out, session.server(), short)
        return
    base, current = session.workspace()
    if name == ":":
        enter(session, base, current.split(":")[0], None, short)
        return
    path = resolve_path(name, current, arg)
    type_ref = check_workspace(session.client(base), path)
    enter(session, base, path, type_ref, short)


# --------------------------------------------------------------------------------------------
# tree
# --------------------------------------------------------------------------------------------


@dataclass
class TreeNode:
    """One line of `kubectl ws tree` and the nodes below it."""

    label: str
    children: list[TreeNode] = field(default_factory=list)


def render_tree(root: TreeNode) -> list[str]:
    """The lines treeprint draws for a tree whose only top node is `root`: `.`, then `└── root`, ..."""
    lines = ["."]

    def walk(nodes: list[TreeNode], prefix: str) -> None:
        for i, node in enumerate(nodes):
            last = i == len(nodes) - 1
            lines.append(f"{prefix}{'└──' if last else '├──'} {node.label}")
            walk(node.children, prefix + ("    " if last else "│   "))

    walk([root], "")
    return lines


def align_columns(lines: list[str], padding: int = 2) -> list[str]:
    """Go's tabwriter (padding 2, spaces) for tab-separated cells: every cell but a line's last is
    padded to its column's widest cell plus `padding`."""
    rows = [line.split("\t") for line in lines]
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell))
    return ["".join(cell.ljust(widths[i] + padding) for i, cell in enumerate(row[:-1])) + row[-1] for row in rows]


class _Tree:
    def __init__(self, client: Client, full: bool, wide: bool) -> None:
        self.client, self.full, self.wide = client, full, wide

    def label(self, name: str, path: str | None, workspace_phase: str) -> str:
        if not self.wide:
            return name
        lc_phase = "Unknown"
        if path is not None:
            try:
                lc_phase = str(
                    (self.client.get(f"/clusters/{path}{LOGICAL_CLUSTER}").get("status") or {}).get("phase")
                    or "Unknown"
                )
            except PluginError:
                pass
        return f"{name}\tws={workspace_phase or '-'}\tlc={lc_phase}"

    def children(self, path: str, name: str) -> list[TreeNode]:
        try:
            listing = self.client.get(f"/clusters/{path}{TENANCY}/workspaces")
        except ApiError as e:
            if e.status == 404:
                return []
            raise
        nodes = []
        for ws in listing.get("items") or []:
            meta, spec = ws.get("metadata") or {}, ws.get("spec") or {}
            if meta.get("deletionTimestamp"):
                continue
            child = f"{name}:{meta.get('name', '')}" if self.full else str(meta.get("name", ""))
            if spec.get("mount"):
                nodes.append(TreeNode(child + " [m]"))
                continue
            phase = str((ws.get("status") or {}).get("phase") or "")
            url = str(spec.get("URL") or "")
            if not url:  # not scheduled yet: no logical cluster to list children in
                nodes.append(TreeNode(self.label(child, None, phase)))
                continue
            parsed = parse_cluster_url(url)
            if parsed is None or not is_valid_path(parsed[1]):
                raise PluginError(f"current config context URL {quote(url)} does not point to workspace")
            nodes.append(TreeNode(self.label(child, parsed[1], phase), self.children(parsed[1], child)))
        return nodes


def tree(session: Session, *, full: bool = False, wide: bool = False) -> None:
    """`kubectl ws tree`: the current workspace and, recursively, its child Workspaces (listed through the API).

    Children being deleted are skipped, mounts are `name [m]` leaves, not yet scheduled children
    (no `spec.URL`) are leaves. `full` labels nodes with whole paths; `wide` appends
    `ws=<Workspace phase> lc=<LogicalCluster phase>` in aligned columns."""
    server = session.server()
    parsed = parse_cluster_url(server)
    if parsed is None or not is_valid_path(parsed[1]):
        session.out.write(f"current context URL {quote(server)} does not point directly to a kcp workspace\n")
        return
    base, current = parsed
    walker = _Tree(session.client(base), full, wide)
    name = current if full else current.rsplit(":", 1)[-1]
    lines = render_tree(TreeNode(walker.label(name, current, ""), walker.children(current, name)))
    if wide:
        session.out.write("\n".join(align_columns(lines)) + "\n")
    else:
        session.out.write("\n".join(lines) + "\n\n")  # kcp prints treeprint's string with Println


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _split_command(args: list[str]) -> tuple[str | None, list[str]]:
    """(subcommand, remaining args): the first positional argument if it names a subcommand."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return None, args
        if arg in ("--kubeconfig", "--context", "--type"):
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            i += 1
            continue
        if arg in SUBCOMMANDS:
            return arg, args[:i] + args[i + 1 :]
        return None, args
    return None, args


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)
    add_connection_flags(parser)
    return parser


def _short(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--short",
        action="store_true",
        help="Print only the name of the workspace, e.g. for integration into the shell prompt",
    )


def run(argv: Sequence[str], out: TextIO, err: TextIO, environ: Mapping[str, str]) -> int:
    """Run `kubectl ws ARGV...`; returns the exit status (PluginError propagates to `main`)."""
    command, args = _split_command(list(argv))
    if command == "create":
        # Imported here: create_workspace imports this module (for --enter).
        from . import create_workspace

        parser = _parser("kubectl ws create", "Creates a new workspace")
        create_workspace.add_arguments(parser)
        ns = parser.parse_args(args)
        err.write(
            "Command \"create\" is deprecated, install the 'kubectl create workspace' plugin instead, "
            "compare https://docs.kcp.io/kcp/latest/setup/kubectl-plugin/.\n"
        )
        return create_workspace.run(ns, out, err, environ)
    if command == "create-context":
        raise PluginError("'kubectl ws create-context' is not implemented by this plugin")
    if command == "tree":
        parser = _parser("kubectl ws tree", "Print the current workspace tree.")
        parser.add_argument("-f", "--full", action="store_true", help="Show full workspace names")
        parser.add_argument(
            "--wide", action="store_true", help="Show workspace and logical cluster status for each node"
        )
        parser.add_argument("-i", "--interactive", action="store_true", help="Interactive workspace tree browser")
        ns = parser.parse_args(args)
        if ns.interactive:
            raise PluginError("the interactive workspace tree browser (-i) is not implemented by this plugin")
        tree(Session.open(ns.kubeconfig, ns.context, out, err, environ), full=ns.full, wide=ns.wide)
        return 0
    if command == "current":
        parser = _parser("kubectl ws current", "Print the current workspace. Same as 'kubectl ws .'.")
        _short(parser)
        ns = parser.parse_args(args)
        session = Session.open(ns.kubeconfig, ns.context, out, err, environ)
        print_current(out, session.server(), ns.short)
        return 0
    if command in ("use", "cd"):
        parser = _parser(
            f"kubectl ws {command}",
            "Uses the given workspace as the current workspace. "
            "Using - means previous workspace, .. means parent workspace, . mean current",
        )
        parser.add_argument("workspace")
        _short(parser)
        ns = parser.parse_args(args)
    else:
        parser = _parser(
            "kubectl ws",
            "Manages kcp workspaces: "
            "kubectl ws [create|use|current|tree|<workspace>|..|.|-|<:root:absolute:workspace>]",
        )
        parser.add_argument("workspace", nargs="?")
        _short(parser)
        parser.add_argument("-i", "--interactive", action="store_true", help="Interactive workspace tree browser")
        ns = parser.parse_args(args)
        if ns.interactive:
            raise PluginError("the interactive workspace tree browser (-i) is not implemented by this plugin")
    session = Session.open(ns.kubeconfig, ns.context, out, err, environ)
    if ns.workspace is None:  # kcp goes home here; without home workspaces: print the current one
        print_current(out, session.server(), ns.short)
        return 0
    use(session, ns.workspace, short=ns.short, home_dir=environ.get("HOME"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `kubectl-ws`: errors print `Error: <message>` on stderr and exit 1."""
    return run_plugin(lambda: run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr, os.environ))


if __name__ == "__main__":
    sys.exit(main())
