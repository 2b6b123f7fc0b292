"""Bulk setup for the benchmark (never measured): `python -m bench.seed KIND ...` with the stack's
environment (DATABASE_URL, KCP_DATA_DIR), run by `bench.run` in a child process.

Everything goes through the project's own services and storage layer (the registry's Store, the
workspace reconciler), exactly the code the HTTP API and the Celery worker run, minus HTTP and
minus the Celery round trip: the workspaces' after-commit hook (which only enqueues
`reconcile_workspace`) is switched off in this process and the reconciler is called inline, so a
seeded workspace is the same rows a real one is (Workspace, LogicalCluster, namespaces `default`
and `kube-system`, the owner's ClusterRoleBinding, event-log entries), just made faster.

Kinds:
  workspaces PARENT_PATH COUNT [--prefix P] [--fanout F]
      COUNT Ready workspaces below PARENT_PATH (which must exist and be Ready): flat when no
      fanout is given, else a tree where each workspace gets up to F children, breadth first.
  configmaps WORKSPACE_PATH NAMESPACE COUNT [--prefix P]
      COUNT configmaps in one namespace.

Progress goes to stderr every few seconds; the last line of stdout is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from typing import Any

# Seeding writes many rows in one process: batch them into transactions of this many objects.
BATCH = 50


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kcpsite.settings")
    import django

    django.setup()


def _silence_workspace_hooks() -> None:
    """Drop the after-commit hooks that enqueue reconcile tasks (we reconcile inline)."""
    from kube.registry import store

    hooks: dict[Any, Any] = store._after_commit_hooks
    hooks.pop(("tenancy.kcp.io", "workspaces"), None)


class Progress:
    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.began = time.monotonic()
        self.last = 0.0

    def tick(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= 5 or done == self.total:
            self.last = now
            rate = done / max(now - self.began, 1e-9)
            eta = (self.total - done) / rate if rate > 0 else 0
            print(f"  seed {self.label}: {done}/{self.total} ({rate:.0f}/s, ~{eta:.0f}s left)",
                  file=sys.stderr, flush=True)


def seed_workspaces(parent_path: str, count: int, prefix: str, fanout: int) -> dict[str, Any]:
    from django.db import transaction

    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from workspaces.kinds import WORKSPACES
    from workspaces.services import cluster_resolve, workspace_reconcile

    parent = cluster_resolve(parent_path)
    if parent is None:
        raise SystemExit(f"seed: parent workspace {parent_path} does not exist or is not ready")
    progress = Progress(f"workspaces under {parent_path}", count)
    # Breadth first: a queue of (logical cluster, path) that may still take children.
    queue: deque[tuple[str, str]] = deque([(parent, parent_path)])
    children_of: dict[str, int] = {}
    made = 0
    began = time.monotonic()
    while made < count:
        cluster, path = queue[0]
        batch: list[tuple[str, str]] = []
        with transaction.atomic():
            while made < count and len(batch) < BATCH:
                n = children_of.get(cluster, 0)
                if fanout and n >= fanout:
                    break
                name = f"{prefix}{made}"
                STORE.create(WORKSPACES, RequestContext(cluster=cluster, field_manager="bench-seed"), "",
                             {"apiVersion": "tenancy.kcp.io/v1alpha1", "kind": "Workspace",
                              "metadata": {"name": name}})
                children_of[cluster] = n + 1
                batch.append((cluster, name))
                made += 1
        for c, name in batch:
            phase = workspace_reconcile(cluster=c, name=name)
            if phase != "Ready":
                phase = workspace_reconcile(cluster=c, name=name)
            if phase != "Ready":
                raise SystemExit(f"seed: workspace {name} in {c} reached {phase!r}, not Ready")
            if fanout:
                child = cluster_resolve(f"{path}:{name}") if c == cluster else None
                if child is not None:
                    queue.append((child, f"{path}:{name}"))
        if fanout and children_of.get(cluster, 0) >= fanout:
            queue.popleft()
        progress.tick(made)
    return {"kind": "workspaces", "count": made, "seconds": time.monotonic() - began}


def seed_configmaps(workspace_path: str, namespace: str, count: int, prefix: str) -> dict[str, Any]:
    from django.db import transaction

    from kube.registry import REGISTRY
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from workspaces.services import cluster_resolve

    cluster = cluster_resolve(workspace_path)
    if cluster is None:
        raise SystemExit(f"seed: workspace {workspace_path} does not exist or is not ready")
    info = REGISTRY.resolve(cluster=cluster, group="", version="v1", resource="configmaps")
    assert info is not None
    ctx = RequestContext(cluster=cluster, field_manager="bench-seed")
    progress = Progress(f"configmaps in {workspace_path}/{namespace}", count)
    began = time.monotonic()
    made = 0
    while made < count:
        with transaction.atomic():
            for _ in range(min(BATCH * 4, count - made)):
                STORE.create(info, ctx, namespace, {"metadata": {"name": f"{prefix}{made:06d}"},
                                                    "data": {"index": str(made), "payload": "x" * 64}})
                made += 1
        progress.tick(made)
    return {"kind": "configmaps", "count": made, "seconds": time.monotonic() - began}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    sub = parser.add_subparsers(dest="kind", required=True)
    ws = sub.add_parser("workspaces")
    ws.add_argument("parent")
    ws.add_argument("count", type=int)
    ws.add_argument("--prefix", default="s")
    ws.add_argument("--fanout", type=int, default=0)
    cm = sub.add_parser("configmaps")
    cm.add_argument("workspace")
    cm.add_argument("namespace")
    cm.add_argument("count", type=int)
    cm.add_argument("--prefix", default="cm-")
    args = parser.parse_args(argv)
    _setup_django()
    _silence_workspace_hooks()
    if args.kind == "workspaces":
        result = seed_workspaces(args.parent, args.count, args.prefix, args.fanout)
    else:
        result = seed_configmaps(args.workspace, args.namespace, args.count, args.prefix)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
