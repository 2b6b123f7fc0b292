"""Changes of a scope since a revision: what a live view (the portal's websocket) reads to catch up
from the revision its page was rendered at, then follows.

The registry's read-only door to the event log and the per-process event pump, so code above
`kube` follows changes without importing `kube.storage` (whose backend writes behind every
strategy, admission and hook). Contract (the same a watch has): revisions are dense and commit
ordered; `changes_between` returns every logged change of `scope` in `(after, upto]` in revision
order, at most `batch` of them (call again from the last one's revision); below
`compaction_floor()` the log is gone, and a reader starting there must re-list (kube's 410 Expired).
Events carry the object as stored (`type`, `object`, `revision`); a reader shows its own summary.
"""

from __future__ import annotations

from kube.storage import backend
from kube.storage.backend import ListScope
from kube.storage.models import Event
from kube.storage.pump import OVERFLOW, get_pump

#: The pump (`get_pump().subscribe(scope)`) delivers what is committed after a subscription
#: starts; OVERFLOW in its queue means the reader fell behind and must re-list.
__all__ = ["OVERFLOW", "Event", "ListScope", "changes_between", "compaction_floor", "get_pump"]


def changes_between(scope: ListScope, after: int, upto: int, *, batch: int = 1000) -> list[Event]:
    """Logged changes of `scope` with after < revision <= upto, oldest first (at most `batch`)."""
    return backend.events_between(scope, after, upto, batch=batch)


def compaction_floor() -> int:
    """The revision at and below which the event log has been compacted away: a reader resuming
    from there has missed changes and must re-list."""
    return backend.compacted_revision()
