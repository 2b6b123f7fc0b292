"""Which upstream protobuf messages this server decodes: plain data, the roots of the generated tables.

``tools/protobuf_tables.py`` reads :data:`ROOTS` (loading this file by path, so it must stay a leaf
module of literals) and writes the field tables of every message reachable from them into
``upstream.py``. Supporting another kind means adding it to :data:`SERVED` and regenerating; the Go
JSON facts its fields need (pointers, tags without ``omitempty``) go to ``gojson.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

ANY_VERSION: Final = "*"
"""Wildcard apiVersion in :data:`SERVED`, for kinds registered in every group version (DeleteOptions)."""

_META: Final = "k8s.io.apimachinery.pkg.apis.meta.v1"
_RUNTIME: Final = "k8s.io.apimachinery.pkg.runtime"
_CORE: Final = "k8s.io.api.core.v1"
_AUTHZ: Final = "k8s.io.api.authorization.v1"
_AUTHN: Final = "k8s.io.api.authentication.v1"
_RBAC: Final = "k8s.io.api.rbac.v1"

SERVED: Final[Mapping[tuple[str, str], str]] = MappingProxyType(
    {
        ("v1", "Namespace"): f"{_CORE}.Namespace",
        ("v1", "ConfigMap"): f"{_CORE}.ConfigMap",
        ("v1", "Secret"): f"{_CORE}.Secret",
        ("v1", "ServiceAccount"): f"{_CORE}.ServiceAccount",
        ("v1", "Event"): f"{_CORE}.Event",
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): f"{_AUTHZ}.SelfSubjectAccessReview",
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): f"{_AUTHZ}.SelfSubjectRulesReview",
        ("authorization.k8s.io/v1", "SubjectAccessReview"): f"{_AUTHZ}.SubjectAccessReview",
        # LocalSubjectAccessReview has its own message upstream, with the same fields and Go type shape.
        ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): f"{_AUTHZ}.LocalSubjectAccessReview",
        ("authentication.k8s.io/v1", "SelfSubjectReview"): f"{_AUTHN}.SelfSubjectReview",
        ("authentication.k8s.io/v1", "TokenRequest"): f"{_AUTHN}.TokenRequest",
        ("authentication.k8s.io/v1", "TokenReview"): f"{_AUTHN}.TokenReview",
        ("coordination.k8s.io/v1", "Lease"): "k8s.io.api.coordination.v1.Lease",
        ("rbac.authorization.k8s.io/v1", "Role"): f"{_RBAC}.Role",
        ("rbac.authorization.k8s.io/v1", "ClusterRole"): f"{_RBAC}.ClusterRole",
        ("rbac.authorization.k8s.io/v1", "RoleBinding"): f"{_RBAC}.RoleBinding",
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): f"{_RBAC}.ClusterRoleBinding",
        # metav1.AddToGroupVersion registers the option kinds in every group version.
        (ANY_VERSION, "DeleteOptions"): f"{_META}.DeleteOptions",
    }
)
"""``(apiVersion, kind)`` -> fully qualified protobuf message name."""

UNKNOWN: Final = f"{_RUNTIME}.Unknown"
"""The envelope: ``k8s\\x00`` + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}."""

SPECIAL: Final[tuple[str, ...]] = (
    f"{_META}.Time",
    f"{_META}.MicroTime",
    f"{_META}.FieldsV1",
    f"{_RUNTIME}.RawExtension",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    f"{_AUTHZ}.ExtraValue",
    f"{_AUTHN}.ExtraValue",
    f"{_AUTHN}.AttestationValue",
)
"""Messages whose JSON form is not an object (``gojson.CONVERTERS``); tabled even when no served kind uses them."""

ROOTS: Final[tuple[str, ...]] = (*SERVED.values(), UNKNOWN, *SPECIAL)
