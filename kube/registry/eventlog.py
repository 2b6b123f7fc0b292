"""The watch log as readers outside kube's endpoints see it (the portal's live pages): events of
a scope between two revisions, and the compaction floor below which a resume is impossible."""

from __future__ import annotations

from kube.storage import backend
from kube.storage.backend import ListScope
from kube.storage.models import Event

__all__ = ["ListScope", "compacted_revision", "current_revision", "events_between"]


def events_between(scope: ListScope, after: int, upto: int, *, batch: int = 1000) -> list[Event]:
    """Logged events of `scope` with after < revision <= upto, in revision order."""
    return backend.events_between(scope, after, upto, batch=batch)


def compacted_revision() -> int:
    return backend.compacted_revision()


def current_revision() -> int:
    return backend.current_revision()
