"""Per-request options the generic Store needs (who, where, how strictly)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kube.authz.user import SYSTEM_USER, UserInfo


@dataclass
class RequestContext:
    cluster: str
    user: UserInfo = SYSTEM_USER
    field_manager: str = ""
    dry_run: bool = False
    field_validation: str = "Warn"
    warnings: list[str] = field(default_factory=list)
    #: Labels the server itself puts on an object this request creates (a virtual workspace's
    #: confinement label), added after the reserved-metadata check, where a client's own would be
    #: refused; a client resending one of them unchanged is no modification.
    server_labels: dict[str, str] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
