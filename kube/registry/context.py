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

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
