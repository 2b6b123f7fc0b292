"""Field tables of the upstream protobuf messages this server decodes. GENERATED: do not edit.

Written by ``tools/protobuf_tables.py`` from the vendored ``third_party/kubernetes-proto`` files (the
messages reachable from ``kinds.ROOTS``). Each message maps to its fields in declaration order (Go
struct order) as ``(name, number, label, type)``: ``label`` is ``optional``, ``repeated`` or ``map``,
``type`` a scalar name or another message's full name (for a map, the value type; keys are strings).
"""

from typing import Final

Descriptor = tuple[tuple[str, int, str, str], ...]

MESSAGES: Final[dict[str, Descriptor]] = {
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.AttestationValue": (("items", 1, "repeated", "string"),),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.BoundObjectReference": (
        ("kind", 1, "optional", "string"),
        ("apiVersion", 2, "optional", "string"),
        ("name", 3, "optional", "string"),
        ("uID", 4, "optional", "string"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.ExtraValue": (("items", 1, "repeated", "string"),),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.SelfSubjectReview": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("status", 2, "optional", "k8s.io.api.authentication.v1.SelfSubjectReviewStatus"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.SelfSubjectReviewStatus": (
        ("userInfo", 1, "optional", "k8s.io.api.authentication.v1.UserInfo"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.TokenRequest": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.authentication.v1.TokenRequestSpec"),
        ("status", 3, "optional", "k8s.io.api.authentication.v1.TokenRequestStatus"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.TokenRequestSpec": (
        ("audiences", 1, "repeated", "string"),
        ("expirationSeconds", 4, "optional", "int64"),
        ("boundObjectRef", 3, "optional", "k8s.io.api.authentication.v1.BoundObjectReference"),
        ("attestations", 5, "map", "k8s.io.api.authentication.v1.AttestationValue"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.TokenRequestStatus": (
        ("token", 1, "optional", "string"),
        ("expirationTimestamp", 2, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.TokenReview": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.authentication.v1.TokenReviewSpec"),
        ("status", 3, "optional", "k8s.io.api.authentication.v1.TokenReviewStatus"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.TokenReviewSpec": (
        ("token", 1, "optional", "string"),
        ("audiences", 2, "repeated", "string"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.TokenReviewStatus": (
        ("authenticated", 1, "optional", "bool"),
        ("user", 2, "optional", "k8s.io.api.authentication.v1.UserInfo"),
        ("audiences", 4, "repeated", "string"),
        ("error", 3, "optional", "string"),
    ),
    # k8s.io/api/authentication/v1/generated.proto
    "k8s.io.api.authentication.v1.UserInfo": (
        ("username", 1, "optional", "string"),
        ("uid", 2, "optional", "string"),
        ("groups", 3, "repeated", "string"),
        ("extra", 4, "map", "k8s.io.api.authentication.v1.ExtraValue"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.ExtraValue": (("items", 1, "repeated", "string"),),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.FieldSelectorAttributes": (
        ("rawSelector", 1, "optional", "string"),
        ("requirements", 2, "repeated", "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.LabelSelectorAttributes": (
        ("rawSelector", 1, "optional", "string"),
        ("requirements", 2, "repeated", "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.LocalSubjectAccessReview": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.authorization.v1.SubjectAccessReviewSpec"),
        ("status", 3, "optional", "k8s.io.api.authorization.v1.SubjectAccessReviewStatus"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.NonResourceAttributes": (
        ("path", 1, "optional", "string"),
        ("verb", 2, "optional", "string"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.NonResourceRule": (
        ("verbs", 1, "repeated", "string"),
        ("nonResourceURLs", 2, "repeated", "string"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.ResourceAttributes": (
        ("namespace", 1, "optional", "string"),
        ("verb", 2, "optional", "string"),
        ("group", 3, "optional", "string"),
        ("version", 4, "optional", "string"),
        ("resource", 5, "optional", "string"),
        ("subresource", 6, "optional", "string"),
        ("name", 7, "optional", "string"),
        ("fieldSelector", 8, "optional", "k8s.io.api.authorization.v1.FieldSelectorAttributes"),
        ("labelSelector", 9, "optional", "k8s.io.api.authorization.v1.LabelSelectorAttributes"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.ResourceRule": (
        ("verbs", 1, "repeated", "string"),
        ("apiGroups", 2, "repeated", "string"),
        ("resources", 3, "repeated", "string"),
        ("resourceNames", 4, "repeated", "string"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SelfSubjectAccessReview": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.authorization.v1.SelfSubjectAccessReviewSpec"),
        ("status", 3, "optional", "k8s.io.api.authorization.v1.SubjectAccessReviewStatus"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SelfSubjectAccessReviewSpec": (
        ("resourceAttributes", 1, "optional", "k8s.io.api.authorization.v1.ResourceAttributes"),
        ("nonResourceAttributes", 2, "optional", "k8s.io.api.authorization.v1.NonResourceAttributes"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SelfSubjectRulesReview": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.authorization.v1.SelfSubjectRulesReviewSpec"),
        ("status", 3, "optional", "k8s.io.api.authorization.v1.SubjectRulesReviewStatus"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SelfSubjectRulesReviewSpec": (("namespace", 1, "optional", "string"),),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SubjectAccessReview": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.authorization.v1.SubjectAccessReviewSpec"),
        ("status", 3, "optional", "k8s.io.api.authorization.v1.SubjectAccessReviewStatus"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SubjectAccessReviewSpec": (
        ("resourceAttributes", 1, "optional", "k8s.io.api.authorization.v1.ResourceAttributes"),
        ("nonResourceAttributes", 2, "optional", "k8s.io.api.authorization.v1.NonResourceAttributes"),
        ("user", 3, "optional", "string"),
        ("groups", 4, "repeated", "string"),
        ("extra", 5, "map", "k8s.io.api.authorization.v1.ExtraValue"),
        ("uid", 6, "optional", "string"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SubjectAccessReviewStatus": (
        ("allowed", 1, "optional", "bool"),
        ("denied", 4, "optional", "bool"),
        ("reason", 2, "optional", "string"),
        ("evaluationError", 3, "optional", "string"),
    ),
    # k8s.io/api/authorization/v1/generated.proto
    "k8s.io.api.authorization.v1.SubjectRulesReviewStatus": (
        ("resourceRules", 1, "repeated", "k8s.io.api.authorization.v1.ResourceRule"),
        ("nonResourceRules", 2, "repeated", "k8s.io.api.authorization.v1.NonResourceRule"),
        ("incomplete", 3, "optional", "bool"),
        ("evaluationError", 4, "optional", "string"),
    ),
    # k8s.io/api/coordination/v1/generated.proto
    "k8s.io.api.coordination.v1.Lease": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.coordination.v1.LeaseSpec"),
    ),
    # k8s.io/api/coordination/v1/generated.proto
    "k8s.io.api.coordination.v1.LeaseSpec": (
        ("holderIdentity", 1, "optional", "string"),
        ("leaseDurationSeconds", 2, "optional", "int32"),
        ("acquireTime", 3, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"),
        ("renewTime", 4, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"),
        ("leaseTransitions", 5, "optional", "int32"),
        ("strategy", 6, "optional", "string"),
        ("preferredHolder", 7, "optional", "string"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.ConfigMap": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("immutable", 4, "optional", "bool"),
        ("data", 2, "map", "string"),
        ("binaryData", 3, "map", "bytes"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.Event": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("involvedObject", 2, "optional", "k8s.io.api.core.v1.ObjectReference"),
        ("reason", 3, "optional", "string"),
        ("message", 4, "optional", "string"),
        ("source", 5, "optional", "k8s.io.api.core.v1.EventSource"),
        ("firstTimestamp", 6, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        ("lastTimestamp", 7, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        ("count", 8, "optional", "int32"),
        ("type", 9, "optional", "string"),
        ("eventTime", 10, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"),
        ("series", 11, "optional", "k8s.io.api.core.v1.EventSeries"),
        ("action", 12, "optional", "string"),
        ("related", 13, "optional", "k8s.io.api.core.v1.ObjectReference"),
        ("reportingComponent", 14, "optional", "string"),
        ("reportingInstance", 15, "optional", "string"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.EventSeries": (
        ("count", 1, "optional", "int32"),
        ("lastObservedTime", 2, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.EventSource": (
        ("component", 1, "optional", "string"),
        ("host", 2, "optional", "string"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.LocalObjectReference": (("name", 1, "optional", "string"),),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.Namespace": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("spec", 2, "optional", "k8s.io.api.core.v1.NamespaceSpec"),
        ("status", 3, "optional", "k8s.io.api.core.v1.NamespaceStatus"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.NamespaceCondition": (
        ("type", 1, "optional", "string"),
        ("status", 2, "optional", "string"),
        ("lastTransitionTime", 4, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        ("reason", 5, "optional", "string"),
        ("message", 6, "optional", "string"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.NamespaceSpec": (("finalizers", 1, "repeated", "string"),),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.NamespaceStatus": (
        ("phase", 1, "optional", "string"),
        ("conditions", 2, "repeated", "k8s.io.api.core.v1.NamespaceCondition"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.ObjectReference": (
        ("kind", 1, "optional", "string"),
        ("namespace", 2, "optional", "string"),
        ("name", 3, "optional", "string"),
        ("uid", 4, "optional", "string"),
        ("apiVersion", 5, "optional", "string"),
        ("resourceVersion", 6, "optional", "string"),
        ("fieldPath", 7, "optional", "string"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.Secret": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("immutable", 5, "optional", "bool"),
        ("data", 2, "map", "bytes"),
        ("stringData", 4, "map", "string"),
        ("type", 3, "optional", "string"),
    ),
    # k8s.io/api/core/v1/generated.proto
    "k8s.io.api.core.v1.ServiceAccount": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("secrets", 2, "repeated", "k8s.io.api.core.v1.ObjectReference"),
        ("imagePullSecrets", 3, "repeated", "k8s.io.api.core.v1.LocalObjectReference"),
        ("automountServiceAccountToken", 4, "optional", "bool"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.AggregationRule": (
        ("clusterRoleSelectors", 1, "repeated", "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.ClusterRole": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("rules", 2, "repeated", "k8s.io.api.rbac.v1.PolicyRule"),
        ("aggregationRule", 3, "optional", "k8s.io.api.rbac.v1.AggregationRule"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.ClusterRoleBinding": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("subjects", 2, "repeated", "k8s.io.api.rbac.v1.Subject"),
        ("roleRef", 3, "optional", "k8s.io.api.rbac.v1.RoleRef"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.PolicyRule": (
        ("verbs", 1, "repeated", "string"),
        ("apiGroups", 2, "repeated", "string"),
        ("resources", 3, "repeated", "string"),
        ("resourceNames", 4, "repeated", "string"),
        ("nonResourceURLs", 5, "repeated", "string"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.Role": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("rules", 2, "repeated", "k8s.io.api.rbac.v1.PolicyRule"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.RoleBinding": (
        ("metadata", 1, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("subjects", 2, "repeated", "k8s.io.api.rbac.v1.Subject"),
        ("roleRef", 3, "optional", "k8s.io.api.rbac.v1.RoleRef"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.RoleRef": (
        ("apiGroup", 1, "optional", "string"),
        ("kind", 2, "optional", "string"),
        ("name", 3, "optional", "string"),
    ),
    # k8s.io/api/rbac/v1/generated.proto
    "k8s.io.api.rbac.v1.Subject": (
        ("kind", 1, "optional", "string"),
        ("apiGroup", 2, "optional", "string"),
        ("name", 3, "optional", "string"),
        ("namespace", 4, "optional", "string"),
    ),
    # k8s.io/apimachinery/pkg/api/resource/generated.proto
    "k8s.io.apimachinery.pkg.api.resource.Quantity": (("string", 1, "optional", "string"),),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions": (
        ("gracePeriodSeconds", 1, "optional", "int64"),
        ("preconditions", 2, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Preconditions"),
        ("orphanDependents", 3, "optional", "bool"),
        ("propagationPolicy", 4, "optional", "string"),
        ("dryRun", 5, "repeated", "string"),
        ("ignoreStoreReadErrorWithClusterBreakingPotential", 6, "optional", "bool"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement": (
        ("key", 1, "optional", "string"),
        ("operator", 2, "optional", "string"),
        ("values", 3, "repeated", "string"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": (("Raw", 1, "optional", "bytes"),),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector": (
        ("matchLabels", 1, "map", "string"),
        ("matchExpressions", 2, "repeated", "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement": (
        ("key", 1, "optional", "string"),
        ("operator", 2, "optional", "string"),
        ("values", 3, "repeated", "string"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry": (
        ("manager", 1, "optional", "string"),
        ("operation", 2, "optional", "string"),
        ("apiVersion", 3, "optional", "string"),
        ("time", 4, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        ("fieldsType", 6, "optional", "string"),
        ("fieldsV1", 7, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"),
        ("subresource", 8, "optional", "string"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": (
        ("seconds", 1, "optional", "int64"),
        ("nanos", 2, "optional", "int32"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta": (
        ("name", 1, "optional", "string"),
        ("generateName", 2, "optional", "string"),
        ("namespace", 3, "optional", "string"),
        ("selfLink", 4, "optional", "string"),
        ("uid", 5, "optional", "string"),
        ("resourceVersion", 6, "optional", "string"),
        ("generation", 7, "optional", "int64"),
        ("creationTimestamp", 8, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        ("deletionTimestamp", 9, "optional", "k8s.io.apimachinery.pkg.apis.meta.v1.Time"),
        ("deletionGracePeriodSeconds", 10, "optional", "int64"),
        ("labels", 11, "map", "string"),
        ("annotations", 12, "map", "string"),
        ("ownerReferences", 13, "repeated", "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference"),
        ("finalizers", 14, "repeated", "string"),
        ("managedFields", 17, "repeated", "k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference": (
        ("apiVersion", 5, "optional", "string"),
        ("kind", 1, "optional", "string"),
        ("name", 3, "optional", "string"),
        ("uid", 4, "optional", "string"),
        ("controller", 6, "optional", "bool"),
        ("blockOwnerDeletion", 7, "optional", "bool"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.Preconditions": (
        ("uid", 1, "optional", "string"),
        ("resourceVersion", 2, "optional", "string"),
    ),
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": (
        ("seconds", 1, "optional", "int64"),
        ("nanos", 2, "optional", "int32"),
    ),
    # k8s.io/apimachinery/pkg/runtime/generated.proto
    "k8s.io.apimachinery.pkg.runtime.RawExtension": (("raw", 1, "optional", "bytes"),),
    # k8s.io/apimachinery/pkg/runtime/generated.proto
    "k8s.io.apimachinery.pkg.runtime.TypeMeta": (
        ("apiVersion", 1, "optional", "string"),
        ("kind", 2, "optional", "string"),
    ),
    # k8s.io/apimachinery/pkg/runtime/generated.proto
    "k8s.io.apimachinery.pkg.runtime.Unknown": (
        ("typeMeta", 1, "optional", "k8s.io.apimachinery.pkg.runtime.TypeMeta"),
        ("raw", 2, "optional", "bytes"),
        ("contentEncoding", 3, "optional", "string"),
        ("contentType", 4, "optional", "string"),
    ),
    # k8s.io/apimachinery/pkg/util/intstr/generated.proto
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": (
        ("type", 1, "optional", "int64"),
        ("intVal", 2, "optional", "int32"),
        ("strVal", 3, "optional", "string"),
    ),
}
