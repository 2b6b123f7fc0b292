"""Access reviews and identity: SelfSubjectAccessReview / SelfSubjectRulesReview /
SubjectAccessReview (authorization.k8s.io/v1) and SelfSubjectReview (authentication.k8s.io/v1) —
answered, never stored — so `kubectl auth can-i [--list]` and `kubectl auth whoami` work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kube import errors
from kube.authz.authorizer import can, policy_for
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.registry import Strategy

if TYPE_CHECKING:
    from kube.registry import ResourceInfo
    from kube.registry.context import RequestContext

Obj = dict[str, Any]


def _body(info: ResourceInfo, body: Any) -> Obj:
    if not isinstance(body, dict):
        raise errors.BadRequest(f"the body of the request must be a {info.kind}")
    kind = body.get("kind") or info.kind
    if kind != info.kind:
        raise errors.BadRequest(f"the kind in the data ({kind}) does not match the expected kind ({info.kind})")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise errors.BadRequest("spec must be an object")
    return spec


def _attributes(user: UserInfo, spec: Obj) -> Attributes:
    res, nonres = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(res, dict) and res:
        return Attributes(
            user=user,
            verb=str(res.get("verb", "")),
            api_group=str(res.get("group", "")),
            resource=str(res.get("resource", "")),
            subresource=str(res.get("subresource", "")),
            name=str(res.get("name", "")),
            namespace=str(res.get("namespace", "")),
            path="",
            resource_request=True,
        )
    if isinstance(nonres, dict) and nonres:
        return Attributes(
            user=user,
            verb=str(nonres.get("verb", "")),
            api_group="",
            resource="",
            subresource="",
            name="",
            namespace="",
            path=str(nonres.get("path", "")),
            resource_request=False,
        )
    raise errors.invalid(
        "SelfSubjectAccessReview",
        "",
        [
            errors.Cause(
                "FieldValueRequired",
                "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
                "spec.resourceAttributes",
            )
        ],
        "authorization.k8s.io",
    )


def _review(info: ResourceInfo, spec: Obj, user: UserInfo, cluster: str) -> Obj:
    # RBAC has no reason to give for "no rule matched" (kubectl would print it after "no").
    allowed, _ = can(user, cluster, _attributes(user, spec))
    status: Obj = {"allowed": allowed}
    return {
        "kind": info.kind,
        "apiVersion": info.group_version,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }


class SelfSubjectAccessReviewStrategy(Strategy):
    virtual = True

    def create_virtual(self, info: ResourceInfo, ctx: RequestContext, body: Any) -> Obj:
        return _review(info, _body(info, body), ctx.user, ctx.cluster)


class SubjectAccessReviewStrategy(Strategy):
    virtual = True

    def create_virtual(self, info: ResourceInfo, ctx: RequestContext, body: Any) -> Obj:
        spec = _body(info, body)
        if not spec.get("user") and not spec.get("groups"):
            raise errors.invalid(
                "SubjectAccessReview",
                "",
                [
                    errors.Cause(
                        "FieldValueRequired",
                        "Required value: at least one of user or group must be specified",
                        "spec.user",
                    )
                ],
                "authorization.k8s.io",
            )
        subject = UserInfo(
            name=str(spec.get("user", "")),
            uid=str(spec.get("uid", "")),
            groups=tuple(str(g) for g in spec.get("groups") or ()),
            extra={k: list(v) for k, v in (spec.get("extra") or {}).items() if isinstance(v, list)},
        )
        return _review(info, spec, subject, ctx.cluster)


class SelfSubjectRulesReviewStrategy(Strategy):
    virtual = True

    def create_virtual(self, info: ResourceInfo, ctx: RequestContext, body: Any) -> Obj:
        spec = _body(info, body)
        if ctx.user.is_admin:
            resource_rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
            non_resource_rules = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
        else:
            resource_rules, non_resource_rules = policy_for(ctx.cluster).rules_for(
                ctx.user, str(spec.get("namespace", ""))
            )
        return {
            "kind": info.kind,
            "apiVersion": info.group_version,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False},
        }


class SelfSubjectReviewStrategy(Strategy):
    virtual = True

    def create_virtual(self, info: ResourceInfo, ctx: RequestContext, body: Any) -> Obj:
        _body(info, body)
        user = ctx.user
        user_info: Obj = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            user_info["uid"] = user.uid
        extra = {k: v for k, v in user.extra.items() if not k.startswith("kcp.io/")}
        if extra:
            user_info["extra"] = extra
        return {
            "kind": info.kind,
            "apiVersion": info.group_version,
            "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user_info},
        }
