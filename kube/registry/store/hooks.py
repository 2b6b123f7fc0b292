"""Controller triggers and cross-kind admission, as the Store runs them.

`on_change` hooks run after the write's transaction commits (never on dry runs), each on its own
snapshot of the object; `on_admission` hooks mutate inside the write transaction, after the kind's
own admission and before the request's write guard.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

from django.db import transaction

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj

#: Hooks run after commit when objects of a (group, resource) change: fn(cluster, obj, event_type).
_after_commit_hooks: dict[tuple[str, str], list[Callable[[str, Obj, str], None]]] = {}


def on_change(group: str, resource: str, fn: Callable[[str, Obj, str], None]) -> None:
    """Register a controller trigger; it runs after the transaction commits (never on dry runs)."""
    _after_commit_hooks.setdefault((group, resource), []).append(fn)


#: Mutating admission across kinds, run inside the write transaction after the kind's own `admit`:
#: fn(info, ctx, new, old) (old is None on create). kcp's claim labelling is one.
_admission_hooks: list[Callable[[ResourceInfo, RequestContext, Obj, Obj | None], None]] = []


def on_admission(fn: Callable[[ResourceInfo, RequestContext, Obj, Obj | None], None]) -> None:
    _admission_hooks.append(fn)


def _admit(info: ResourceInfo, ctx: RequestContext, new: Obj, old: Obj | None) -> None:
    """The kind's admission, the cross-kind hooks, then the request's write guard: last, so it
    judges the object exactly as it will be written (e.g. with the labels admission gave it)."""
    info.strategy.admit(new, old, ctx=ctx)
    for fn in _admission_hooks:
        fn(info, ctx, new, old)
    if ctx.write_guard is not None:
        ctx.write_guard(old, new)


def _schedule_hooks(info: ResourceInfo, cluster: str, obj: Obj, event_type: str) -> None:
    for fn in _after_commit_hooks.get((info.group, info.resource), []):
        snapshot = copy.deepcopy(obj)
        # robust: a broker outage must not fail a committed write; the periodic resync redoes the work.
        transaction.on_commit(functools.partial(fn, cluster, snapshot, event_type), robust=True)

