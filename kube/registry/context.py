"""Per-request options the generic Store needs (who, where, how strictly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kube.authz.user import SYSTEM_USER, UserInfo

#: fn(old, new): the object as stored before the write (None on create) and as it is about to be
#: written (None on delete). Raises a StatusError to refuse the write.
WriteGuard = Callable[[dict[str, Any] | None, dict[str, Any] | None], None]


@dataclass
class RequestContext:
    cluster: str
    user: UserInfo = SYSTEM_USER
    field_manager: str = ""
    dry_run: bool = False
    field_validation: str = "Warn"
    warnings: list[str] = field(default_factory=list)
    write_guard: WriteGuard | None = None
    """The check of the surface the request came through (e.g. a virtual workspace keeping a
    provider inside what its consumers shared) on every object this request writes. The Store
    runs it inside the write's transaction, on the locked row, after admission: creates, updates,
    patches, applies, status and scale writes and deletes (one by one in a deletecollection)
    cannot route around it."""
    #: Labels the server itself puts on an object this request creates (a virtual workspace's
    #: confinement label), added after the reserved-metadata check, where a client's own would be
    #: refused; a client resending one of them unchanged is no modification.
    server_labels: dict[str, str] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
