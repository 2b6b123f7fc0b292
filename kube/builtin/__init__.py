"""Built-in kinds of a generic control plane: no pods, no nodes, no workloads."""

from __future__ import annotations

import functools

from kube.registry import ResourceInfo, Strategy
from kube.schema import Schema, schema_for_gvk

from .apiextensions import CRDStrategy
from .coordination import LeaseStrategy
from .core import ConfigMapStrategy, EventStrategy, NamespaceStrategy, SecretStrategy, ServiceAccountStrategy
from .events import EventsV1Strategy
from .rbac import ClusterRoleBindingStrategy, ClusterRoleStrategy, RoleBindingStrategy, RoleStrategy
from .reviews import (
    SelfSubjectAccessReviewStrategy,
    SelfSubjectReviewStrategy,
    SelfSubjectRulesReviewStrategy,
    SubjectAccessReviewStrategy,
)


def _loader(group: str, version: str, kind: str):  # type: ignore[no-untyped-def]
    @functools.cache
    def load() -> Schema | None:
        return schema_for_gvk(group, version, kind)

    return load


def _builtin(
    group: str, version: str, resource: str, kind: str, namespaced: bool, strategy: Strategy, **kw
) -> ResourceInfo:  # type: ignore[no-untyped-def]
    return ResourceInfo(
        group=group,
        version=version,
        resource=resource,
        kind=kind,
        namespaced=namespaced,
        strategy=strategy,
        schema_loader=_loader(group, version, kind),
        **kw,
    )


def builtin_resources() -> list[ResourceInfo]:
    rbac = "rbac.authorization.k8s.io"
    return [
        _builtin(
            "",
            "v1",
            "namespaces",
            "Namespace",
            False,
            NamespaceStrategy(),
            short_names=("ns",),
            subresources=("status", "finalize"),
            # As upstream: no deletecollection (each namespace is deleted by name, the immortal refused).
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        ),
        _builtin("", "v1", "configmaps", "ConfigMap", True, ConfigMapStrategy(), short_names=("cm",)),
        _builtin("", "v1", "secrets", "Secret", True, SecretStrategy()),
        _builtin(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            True,
            ServiceAccountStrategy(),
            short_names=("sa",),
            extra_subresources={"token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",))},
        ),
        _builtin("", "v1", "events", "Event", True, EventStrategy(), short_names=("ev",)),
        _builtin("events.k8s.io", "v1", "events", "Event", True, EventsV1Strategy(), short_names=("ev",)),
        _builtin("coordination.k8s.io", "v1", "leases", "Lease", True, LeaseStrategy()),
        _builtin(rbac, "v1", "roles", "Role", True, RoleStrategy()),
        _builtin(rbac, "v1", "rolebindings", "RoleBinding", True, RoleBindingStrategy()),
        _builtin(rbac, "v1", "clusterroles", "ClusterRole", False, ClusterRoleStrategy()),
        _builtin(rbac, "v1", "clusterrolebindings", "ClusterRoleBinding", False, ClusterRoleBindingStrategy()),
        *_reviews(),
        _builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            CRDStrategy(),
            short_names=("crd", "crds"),
            categories=("api-extensions",),
            subresources=("status",),
        ),
    ]


def _reviews() -> list[ResourceInfo]:

    authz, authn, create = "authorization.k8s.io", "authentication.k8s.io", ("create",)
    return [
        _builtin(
            authz,
            "v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            False,
            SelfSubjectAccessReviewStrategy(),
            verbs=create,
        ),
        _builtin(
            authz,
            "v1",
            "selfsubjectrulesreviews",
            "SelfSubjectRulesReview",
            False,
            SelfSubjectRulesReviewStrategy(),
            verbs=create,
        ),
        _builtin(
            authz,
            "v1",
            "subjectaccessreviews",
            "SubjectAccessReview",
            False,
            SubjectAccessReviewStrategy(),
            verbs=create,
        ),
        _builtin(
            authn, "v1", "selfsubjectreviews", "SelfSubjectReview", False, SelfSubjectReviewStrategy(), verbs=create
        ),
    ]

