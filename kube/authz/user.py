"""The authenticated identity of a request (Kubernetes `user.Info`), and which identities are
privileged.

Privilege comes from authentication only: a token's groups (issued by an operator) or the
system's own controller identity. Impersonation may never add a privileged group or take a
privileged user name unless the requester already holds it (see `authorizer.impersonate`), so
`is_admin` can be trusted wherever a request's user came through the request pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Bypasses authorization everywhere (kube's superuser group).
SYSTEM_MASTERS = "system:masters"
#: kcp's global administrators: cluster-admin in every workspace.
KCP_ADMIN = "system:kcp:admin"
#: Groups with a meaning to the system rather than to a workspace's RBAC: `system:masters`, and
#: every `system:kcp:*` group (kcp's admin, logical-cluster-admin, workspace-bootstrapper, the
#: initializer/terminator groups). Nobody acquires one by impersonation.
PRIVILEGED_GROUP_PREFIX = "system:kcp:"
#: User names reserved for the system's own components (the controllers act as
#: `system:kcp:controller`); nobody impersonates them either.
PRIVILEGED_USER_PREFIXES = ("system:kcp:", "system:apiserver", "system:kube-")


def is_privileged_group(group: str) -> bool:
    return group == SYSTEM_MASTERS or group.startswith(PRIVILEGED_GROUP_PREFIX)


def is_privileged_user_name(name: str) -> bool:
    return name.startswith(PRIVILEGED_USER_PREFIXES)


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return SYSTEM_MASTERS in self.groups or KCP_ADMIN in self.groups


SYSTEM_USER = UserInfo(name="system:kcp:controller", groups=(SYSTEM_MASTERS, "system:authenticated"))
