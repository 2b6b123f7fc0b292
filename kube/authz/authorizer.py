"""Authorization of a request in one logical cluster: the workspace `access` check, then RBAC.

Policies are built from the cluster's RBAC objects and cached per cluster behind a one-row
signature query (count and newest revision of its RBAC rows), so a RoleBinding takes effect on
the next request and a cluster costs one bounded cache entry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.db.models import Count, Max

from kube import errors
from kube.storage.models import StoredObject

from .rbac import Attributes, Policy, forbidden_message
from .user import SYSTEM_MASTERS, UserInfo, is_privileged_group, is_privileged_user_name

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
CACHE_SIZE = 4096

_cache: OrderedDict[str, tuple[tuple[int, int], Policy]] = OrderedDict()
_lock = threading.Lock()


def policy_for(cluster: str) -> Policy:
    rows = StoredObject.objects.filter(cluster=cluster, group=RBAC_GROUP, resource__in=RBAC_RESOURCES)
    agg = rows.aggregate(n=Count("id"), rv=Max("resource_version"))
    signature = (int(agg["n"] or 0), int(agg["rv"] or 0))
    with _lock:
        hit = _cache.get(cluster)
        if hit is not None and hit[0] == signature:
            _cache.move_to_end(cluster)
            return hit[1]
    by_kind: dict[str, list[dict[str, Any]]] = {r: [] for r in RBAC_RESOURCES}
    for resource, body in rows.values_list("resource", "body"):
        by_kind[resource].append(body)
    policy = Policy(
        roles=by_kind["roles"],
        cluster_roles=by_kind["clusterroles"],
        role_bindings=by_kind["rolebindings"],
        cluster_role_bindings=by_kind["clusterrolebindings"],
    )
    with _lock:
        _cache[cluster] = (signature, policy)
        _cache.move_to_end(cluster)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return policy


def bound_cluster(user: UserInfo) -> str:
    """The logical cluster a credential is bound to ("" for cluster-independent identities)."""
    values = user.extra.get("kcp.io/cluster") or []
    return values[0] if values else ""


def effective_user(user: UserInfo, cluster: str) -> UserInfo:
    """A credential bound to another logical cluster counts as anonymous here, as in kcp: its
    only groups are system:authenticated and system:cluster:<origin>."""
    origin = bound_cluster(user)
    if not origin or origin == cluster or cluster == "*":
        return user
    return UserInfo(name="system:anonymous", groups=("system:authenticated", f"system:cluster:{origin}"))


def authorize(user: UserInfo, cluster: str, attrs: Attributes) -> None:
    """Raise Forbidden unless `user` may do `attrs` in `cluster`."""
    if user.is_admin:
        return
    if cluster == "*":
        raise errors.Forbidden(
            forbidden_message(attrs) + " in the `*` logical cluster",
            kind=attrs.resource,
            group=attrs.api_group,
            name=attrs.name,
        )
    policy = policy_for(cluster)
    if not _may_enter(user, cluster, policy):
        raise errors.Forbidden(
            # The workspace is not named: addressed by path, its logical cluster name is not the
            # caller's to learn (the caller knows what it addressed).
            f'User "{user.name}" cannot access this workspace: access denied',
            kind="workspaces",
            group="tenancy.kcp.io",
        )
    decision = policy.authorize(attrs)
    if not decision.allowed:
        raise errors.Forbidden(forbidden_message(attrs), kind=attrs.resource, group=attrs.api_group, name=attrs.name)


def _may_enter(user: UserInfo, cluster: str, policy: Policy) -> bool:
    """kcp's workspace access: `access` on `/` here; the cluster's own service accounts may."""
    if bound_cluster(user) == cluster and user.name.startswith("system:serviceaccount:"):
        return True
    gate = Attributes(
        user=user,
        verb="access",
        api_group="",
        resource="",
        subresource="",
        name="",
        namespace="",
        path="/",
        resource_request=False,
    )
    return policy.authorize(gate).allowed


def can(user: UserInfo, cluster: str, attrs: Attributes) -> tuple[bool, str]:
    """For SelfSubjectAccessReview: the decision without raising."""
    try:
        authorize(user, cluster, attrs)
    except errors.Forbidden as e:
        return False, e.message
    return True, ""


IMPERSONATE_USER = "impersonate-user"
IMPERSONATE_GROUP = "impersonate-group"


def impersonate(user: UserInfo, cluster: str, headers: dict[str, str]) -> UserInfo:
    """Kubernetes impersonation (`kubectl --as/--as-group`): allowed only when RBAC grants the
    `impersonate` verb on users/groups (or serviceaccounts) in this logical cluster; otherwise 403.
    Identity never comes from any other header (X-Remote-* is ignored).

    Whatever a workspace's RBAC grants, a privileged group (`system:masters`, `system:kcp:*`) or
    user name (`system:kcp:*`, …) can be taken only by a requester who already holds it, or by
    `system:masters` (kcp's impersonation gatekeeper does the same): RBAC in a workspace is its
    admin's to write, so `impersonate` on groups there must never reach beyond the workspace."""
    target = headers.get(IMPERSONATE_USER, "")
    groups = [g.strip() for g in headers.get(IMPERSONATE_GROUP, "").split(",") if g.strip()]
    if not target and not groups:
        return user
    if not target:
        raise errors.Forbidden("requested impersonation of groups without a user")
    _refuse_privilege_escalation(user, target, groups)
    checks = []
    if target.startswith("system:serviceaccount:") and target.count(":") == 3:
        _, _, ns, name = target.split(":")
        checks.append(Attributes.for_resource(user, "impersonate", "serviceaccounts", name=name, namespace=ns))
    else:
        checks.append(Attributes.for_resource(user, "impersonate", "users", name=target))
    for g in groups:
        checks.append(Attributes.for_resource(user, "impersonate", "groups", name=g))
    for attrs in checks:
        authorize(user, cluster, attrs)
    return UserInfo(
        name=target,
        groups=tuple(dict.fromkeys([*groups, "system:authenticated"])),
        extra={"kcp.io/cluster": [cluster]} if cluster != "*" else {},
    )


def _refuse_privilege_escalation(user: UserInfo, target: str, groups: list[str]) -> None:
    if SYSTEM_MASTERS in user.groups:
        return
    held = set(user.groups)
    for g in groups:
        if is_privileged_group(g) and g not in held:
            raise errors.Forbidden(f'impersonation of the privileged group "{g}" is not allowed', kind="groups", name=g)
    if is_privileged_user_name(target) and target != user.name:
        raise errors.Forbidden(
            f'impersonation of the privileged user "{target}" is not allowed', kind="users", name=target
        )
