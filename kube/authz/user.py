"""The authenticated identity of a request (Kubernetes `user.Info`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return "system:masters" in self.groups or "system:kcp:admin" in self.groups


SYSTEM_USER = UserInfo(name="system:kcp:controller", groups=("system:masters", "system:authenticated"))
