"""`kubectl create-workspace` (console script `kubectl-create_workspace`; also `kubectl ws create`).

    kubectl create-workspace NAME [--type [path:]name] [--enter] [--ignore-existing]

Creates Workspace NAME in the current workspace (POST `<base>/clusters/<current>/apis/tenancy.kcp.io/
v1alpha1/workspaces`), waits up to a minute for `status.phase` Ready, and with `--enter` switches
to it like `kubectl ws NAME`. kcp's output (reference/kcp.md §7):

    Workspace "a" (type root:organization) created. Waiting for it to be ready...
    Workspace "a" (type root:organization) is ready to use.
    Current workspace is 'root:a' (type root:organization).

`--ignore-existing` accepts a Workspace that already exists (`... already exists.`) if its type
matches; it requires no type or an absolute one (`root:...`). Not implemented: kcp's
`--location-selector` and `--create-context`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from .kubeconfig import ApiError, Client, Obj, PluginError, Session, add_connection_flags, quote, run_plugin
from .ws import ROOT, TENANCY, format_type, use

READY_TIMEOUT = 60.0
VISIBLE_TIMEOUT = 5.0


def parse_type(value: str) -> Obj:
    """`--type` as a WorkspaceType reference: `[path:]name` → `{name, path}` (name lower-cased;
    no path when none is given: the server defaults it)."""
    path, _, name = value.rpartition(":")
    return {"name": name.lower(), "path": path} if path else {"name": name.lower()}


def _wait(client: Client, url: str, timeout: float, interval: float, done: str) -> Obj | None:
    """GET `url` every `interval` s until `done` holds ("visible": it exists; "ready": phase Ready);
    the last Workspace seen, or None if it never met the condition within `timeout`."""
    deadline = time.monotonic() + timeout
    last: Obj | None = None
    while True:
        try:
            last = client.get(url)
            if done == "visible" or (last.get("status") or {}).get("phase") == "Ready":
                return last
        except ApiError as e:
            if not (done == "visible" and e.status == 404):
                raise
        if time.monotonic() + interval > deadline:
            return None
        time.sleep(interval)


def create_workspace(
    session: Session,
    name: str,
    *,
    type_name: str | None = None,
    enter: bool = False,
    ignore_existing: bool = False,
    ready_timeout: float = READY_TIMEOUT,
    poll_interval: float = 0.5,
) -> None:
    """Create Workspace `name` in the session's current workspace, wait for Ready, optionally enter it.

    Prints kcp's progress lines on `session.out`. Raises PluginError for a current URL that is not
    a workspace, `--ignore-existing` with a relative type, an existing Workspace of another type,
    server errors (their Status message), and `... created but is not ready to use` when it is not
    Ready within `ready_timeout` seconds."""
    base, current = session.workspace()
    if ignore_existing and type_name and not (type_name == ROOT or type_name.startswith(ROOT + ":")):
        raise PluginError("--ignore-existing must not be used with non-absolute type path")
    wanted = parse_type(type_name) if type_name else None
    body: Obj = {
        "apiVersion": "tenancy.kcp.io/v1alpha1",
        "kind": "Workspace",
        "metadata": {"name": name},
        "spec": {"type": wanted} if wanted else {},
    }
    client = session.client(base)
    collection = f"/clusters/{current}{TENANCY}/workspaces"
    pre_existing = False
    try:
        ws = client.post(collection, body)
    except ApiError as e:
        if not (ignore_existing and e.status == 409 and e.reason in ("AlreadyExists", "")):
            raise
        pre_existing = True
        ws = client.get(f"{collection}/{name}")

    actual: Obj = (ws.get("spec") or {}).get("type") or {}
    type_label = format_type(actual)
    reference = f"Workspace {quote(name)}" + (f" (type {type_label})" if type_label else "")
    ready = (ws.get("status") or {}).get("phase") == "Ready"
    if pre_existing:
        if wanted is not None and (
            (actual.get("name") and actual.get("name") != wanted["name"])
            or (actual.get("path") or "") != wanted.get("path", "")
        ):
            raise PluginError(
                f"workspace {quote(name)} cannot be created with type {format_type(wanted)}, "
                f"it already exists with different type {type_label}"
            )
        session.out.write(f"{reference} already exists." + ("" if ready else " Waiting for it to be ready...") + "\n")
    elif not ready:
        session.out.write(f"{reference} created. Waiting for it to be ready...\n")
    session.out.flush()

    url = f"{collection}/{name}"
    if _wait(client, url, VISIBLE_TIMEOUT, min(poll_interval, 0.1), "visible") is None:
        raise PluginError(f"{reference} created but is not visible in {quote(current)}")
    if not ready and _wait(client, url, ready_timeout, poll_interval, "ready") is None:
        raise PluginError(f"{reference} created but is not ready to use")
    session.out.write(f"{reference} is ready to use.\n")
    if enter:
        use(session, f":{current}:{name}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The positional NAME and kcp's `--type`, `--enter`, `--ignore-existing` (connection flags apart)."""
    parser.add_argument("name", help="the name of the workspace to create")
    parser.add_argument(
        "--type", help="A workspace type. The default type depends on where this child workspace is created."
    )
    parser.add_argument("--enter", action="store_true", help="Immediately enter the created workspace")
    parser.add_argument(
        "--ignore-existing",
        action="store_true",
        help="Ignore if the workspace already exists. Requires none or absolute type path.",
    )


def run(ns: argparse.Namespace, out: TextIO, err: TextIO, environ: Mapping[str, str]) -> int:
    """Run the command parsed into `ns` (from a parser given `add_connection_flags` and `add_arguments`)."""
    session = Session.open(ns.kubeconfig, ns.context, out, err, environ)
    create_workspace(session, ns.name, type_name=ns.type, enter=ns.enter, ignore_existing=ns.ignore_existing)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `kubectl-create_workspace`: errors print `Error: <message>` on stderr and exit 1."""
    parser = argparse.ArgumentParser(
        prog="kubectl create workspace", description="Creates a new workspace", allow_abbrev=False
    )
    add_connection_flags(parser)
    add_arguments(parser)
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run_plugin(lambda: run(ns, sys.stdout, sys.stderr, os.environ))


if __name__ == "__main__":
    sys.exit(main())
