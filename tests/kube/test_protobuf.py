"""Tests for kube.endpoints.protobuf: decoding Kubernetes protobuf request bodies into JSON-shaped dicts.

Two sources of input:

* REAL captures in ``fixtures/protobuf/*.bin``: request bodies sent by kubectl v1.35.2 and helm v4.1.4,
  recorded by ``fixtures/protobuf/capture.py`` (see its docstring). ``<name>.json`` next to a capture is
  kubectl's own ``--dry-run=client -o json`` rendering of the same object, i.e. Go's JSON encoding, which
  the decoder must reproduce exactly.
* SYNTHETIC bodies, built below with a small protobuf *encoder* written for these tests (``_Pb``), for
  kinds and fields no client command produces (Event, Lease, SubjectAccessReview, full ObjectMeta, ...).
  The field numbers come from the upstream generated.proto files.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from kube.endpoints import protobuf as pb
from kube.endpoints.protobuf import PROTOBUF_MEDIA_TYPE, decode
from kube.errors import BadRequest

FIXTURES = Path(__file__).parent / "fixtures" / "protobuf"
T_2026 = 1767323045  # 2026-01-02T03:04:05Z
GO_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z, Go's time.Time{}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# ------------------------------------------------------------------------------------------------
# A tiny protobuf encoder, for the synthetic bodies.
# ------------------------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= 0xFFFFFFFFFFFFFFFF  # negative numbers: two's complement, 10 bytes
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def s(number: int, value: str | bytes) -> bytes:
    """A length-delimited field (string, bytes)."""
    data = value.encode() if isinstance(value, str) else value
    return key(number, 2) + varint(len(data)) + data


def v(number: int, value: int | bool) -> bytes:
    """A varint field (bool, int32, int64)."""
    return key(number, 0) + varint(int(value))


def m(number: int, *parts: bytes) -> bytes:
    """An embedded message field."""
    return s(number, b"".join(parts))


def entry(number: int, k: str, value: bytes) -> bytes:
    """One map<string, V> entry; ``value`` is the already-encoded field 2."""
    return m(number, s(1, k), value)


def time(number: int, seconds: int, nanos: int = 0) -> bytes:
    """metav1.Time / MicroTime as gogo writes it (both fields always present)."""
    return m(number, v(1, seconds), v(2, nanos))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """``k8s\\x00`` + runtime.Unknown, as client-go writes it."""
    return pb.MAGIC + m(1, s(1, api_version), s(2, kind)) + s(2, raw) + s(3, "") + s(4, "")


# ------------------------------------------------------------------------------------------------
# Real captures
# ------------------------------------------------------------------------------------------------


def test_media_type() -> None:
    assert PROTOBUF_MEDIA_TYPE == "application/vnd.kubernetes.protobuf"


def test_every_capture_has_an_expectation() -> None:
    index = json.loads(fixture("index.json"))
    on_disk = {p.name for p in FIXTURES.glob("*.bin")}
    assert on_disk == {name for name in index if name.endswith(".bin")}
    assert on_disk == set(REAL_EXPECTED) | set(HELM_EXPECTED)
    for name in on_disk:
        assert index[name]["contentType"] == PROTOBUF_MEDIA_TYPE


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json") if p.name != "index.json"))
def test_real_capture_matches_go_json(name: str) -> None:
    """kubectl's own JSON for the object (``--dry-run=client -o json``) is what the decoder must produce."""
    assert decode(fixture(f"{name}.bin")) == json.loads(fixture(f"{name}.json"))


LAST_APPLIED = (
    '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"demo-cm","namespace":"team-a"},'
    '"data":{"a":"1","greeting":"héllo wörld"},"binaryData":{"logo.png":"iVBORw0KGgoAAf7/"}}\n'
)

REAL_EXPECTED: dict[str, dict[str, Any]] = {
    # kubectl create namespace team-a
    "namespace.bin": {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a"},
        "spec": {},
        "status": {},
    },
    # kubectl create configmap demo-cm --from-literal=a=1 --from-literal=greeting=... --from-file=logo.png=...
    "configmap.bin": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "demo-cm",
            "namespace": "team-a",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED},
        },
        "data": {"a": "1", "greeting": "héllo wörld"},
        "binaryData": {"logo.png": "iVBORw0KGgoAAf7/"},
    },
    # kubectl create secret generic demo-secret --from-literal=username=admin --from-literal=password=s3cr3t! ...
    "secret.bin": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "demo-secret", "namespace": "team-a"},
        "data": {"empty": "", "password": "czNjcjN0IQ==", "username": "YWRtaW4="},
    },
    # kubectl create secret docker-registry regcred ...
    "secret-dockerconfig.bin": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "regcred", "namespace": "team-a"},
        "data": {
            ".dockerconfigjson": base64.b64encode(
                b'{"auths":{"registry.example":{"username":"bot","password":"pw","auth":"Ym90OnB3"}}}'
            ).decode()
        },
        "type": "kubernetes.io/dockerconfigjson",
    },
    # kubectl create serviceaccount builder
    "serviceaccount.bin": {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "builder", "namespace": "team-a"},
    },
    # kubectl create token builder --audience=... --duration=1h --bound-object-kind=Secret ...
    "tokenrequest.bin": {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {},
        "spec": {
            "audiences": ["https://kcp.example", "vault"],
            "expirationSeconds": 3600,
            "boundObjectRef": {
                "kind": "Secret",
                "apiVersion": "v1",
                "name": "demo-secret",
                "uid": "0b5c6f5e-7f1a-4d8e-9a51-3c2d1e0f9a88",
            },
        },
        "status": {"token": "", "expirationTimestamp": None},
    },
    # kubectl auth can-i create configmaps -n team-a
    "ssar.bin": {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {"namespace": "team-a", "verb": "create", "resource": "configmaps"}},
        "status": {"allowed": False},
    },
    # kubectl auth can-i patch deployments.apps/web --subresource=scale -n team-a
    "ssar-subresource.bin": {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {
            "resourceAttributes": {
                "namespace": "team-a",
                "verb": "patch",
                "group": "apps",
                "resource": "deployments",
                "subresource": "scale",
                "name": "web",
            }
        },
        "status": {"allowed": False},
    },
    # kubectl auth can-i get /logs/
    "ssar-nonresource.bin": {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"nonResourceAttributes": {"path": "/logs/", "verb": "get"}},
        "status": {"allowed": False},
    },
    # kubectl auth can-i --list -n team-a
    "ssrr.bin": {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "metadata": {},
        "spec": {"namespace": "team-a"},
        "status": {"resourceRules": None, "nonResourceRules": None, "incomplete": False},
    },
    # kubectl auth whoami
    "selfsubjectreview.bin": {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
        "metadata": {},
        "status": {"userInfo": {}},
    },
    # kubectl drain node-1 --force --disable-eviction --grace-period=7
    "drain-delete.bin": {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 7},
    # kubectl drain node-1 --force --disable-eviction --grace-period=0 --dry-run=server: an explicit 0 survives
    "drain-delete-dry-run.bin": {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "dryRun": ["All"],
    },
    # helm uninstall demo: the release Secret is deleted with empty DeleteOptions
    "helm-uninstall-2.bin": {"apiVersion": "v1", "kind": "DeleteOptions"},
}


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_real_capture(name: str) -> None:
    got = decode(fixture(name))
    assert got == REAL_EXPECTED[name]
    assert list(got)[:2] == ["apiVersion", "kind"]
    json.dumps(got)  # JSON-serialisable as is


# helm install / uninstall: the release Secret (POST pending-install, PUT deployed, PUT uninstalling).
HELM_EXPECTED: dict[str, tuple[str, str]] = {
    "helm-install-1.bin": ("pending-install", "createdAt"),
    "helm-install-2.bin": ("deployed", "modifiedAt"),
    "helm-uninstall-1.bin": ("uninstalling", "modifiedAt"),
}


@pytest.mark.parametrize("name", sorted(HELM_EXPECTED))
def test_real_helm_release_secret(name: str) -> None:
    status, stamp_label = HELM_EXPECTED[name]
    got = decode(fixture(name))
    # Two values change with every capture: the Unix timestamp label and the gzip'd release payload.
    stamp = got["metadata"]["labels"].pop(stamp_label)
    release = got["data"].pop("release")
    assert got == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "sh.helm.release.v1.demo.v1",
            "labels": {"name": "demo", "owner": "helm", "status": status, "version": "1"},
        },
        "data": {},
        "type": "helm.sh/release.v1",
    }
    assert re.fullmatch(r"\d{10}", stamp)
    # Secret.data is map<string, bytes>: base64 in JSON. Helm's value is itself base64(gzip(json)).
    payload = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(release))))
    assert (payload["name"], payload["namespace"], payload["version"]) == ("demo", "team-a", 1)
    assert payload["info"]["status"] == status
    assert payload["chart"]["metadata"]["name"] == "demo"


# ------------------------------------------------------------------------------------------------
# Synthetic bodies (encoded by the test encoder above, NOT captured from a client)
# ------------------------------------------------------------------------------------------------

MANAGED_FIELDS_JSON = b'{"f:metadata":{"f:labels":{"f:app":{}}}}'

FULL_META = m(
    1,
    s(1, "demo"),
    s(2, "demo-"),
    s(3, "team-a"),
    s(4, "/api/v1/namespaces/demo"),
    s(5, "6f1c0d1e-1111-4222-8333-944455556666"),
    s(6, "42"),
    v(7, 3),
    time(8, T_2026, 999_999_999),  # Time drops the nanos
    time(9, T_2026 + 300),
    v(10, 0),  # *int64 set to 0: kept
    entry(11, "app", s(2, "web")),
    entry(11, "tier", s(2, "")),
    entry(12, "note", s(2, "a=b")),
    m(13, s(1, "Deployment"), s(3, "web"), s(4, "uid-1"), s(5, "apps/v1"), v(6, True), v(7, False)),
    m(13, s(1, "ConfigMap"), s(3, "cfg"), s(4, "uid-2"), s(5, "v1")),
    s(14, "example.com/cleanup"),
    s(14, "kubernetes"),
    m(
        17,
        s(1, "kubectl"),
        s(2, "Apply"),
        s(3, "v1"),
        time(4, T_2026),
        s(6, "FieldsV1"),
        m(7, s(1, MANAGED_FIELDS_JSON)),
        s(8, ""),
    ),
    m(17, s(1, "controller"), s(2, "Update"), s(3, "v1"), s(6, "FieldsV1"), s(8, "status")),
)

FULL_META_JSON: dict[str, Any] = {
    "name": "demo",
    "generateName": "demo-",
    "namespace": "team-a",
    "selfLink": "/api/v1/namespaces/demo",
    "uid": "6f1c0d1e-1111-4222-8333-944455556666",
    "resourceVersion": "42",
    "generation": 3,
    "creationTimestamp": "2026-01-02T03:04:05Z",
    "deletionTimestamp": "2026-01-02T03:09:05Z",
    "deletionGracePeriodSeconds": 0,
    "labels": {"app": "web", "tier": ""},
    "annotations": {"note": "a=b"},
    "ownerReferences": [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": False,
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg", "uid": "uid-2"},
    ],
    "finalizers": ["example.com/cleanup", "kubernetes"],
    "managedFields": [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": "2026-01-02T03:04:05Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}},
        },
        {
            "manager": "controller",
            "operation": "Update",
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "subresource": "status",
        },
    ],
}

# As gogo writes an empty ObjectMeta: every non-pointer field present with its zero value.
GOGO_EMPTY_META = m(1, s(1, ""), s(2, ""), s(3, ""), s(4, ""), s(5, ""), s(6, ""), v(7, 0), m(8), s(16, ""))

SYNTHETIC: dict[str, tuple[bytes, dict[str, Any]]] = {
    "namespace-full": (
        envelope(
            "v1",
            "Namespace",
            FULL_META
            + m(2, s(1, "kubernetes"))
            + m(
                3,
                s(1, "Terminating"),
                m(
                    2,
                    s(1, "NamespaceDeletionContentFailure"),
                    s(2, "True"),
                    time(4, T_2026),
                    s(5, "Failed"),
                    s(6, "boom"),
                ),
                m(2, s(1, "NamespaceFinalizersRemaining"), s(2, "False"), m(4)),
            ),
        ),
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": FULL_META_JSON,
            "spec": {"finalizers": ["kubernetes"]},
            "status": {
                "phase": "Terminating",
                "conditions": [
                    {
                        "type": "NamespaceDeletionContentFailure",
                        "status": "True",
                        "lastTransitionTime": "2026-01-02T03:04:05Z",
                        "reason": "Failed",
                        "message": "boom",
                    },
                    # a zero metav1.Time in a non-pointer field renders as null (Go's Time.MarshalJSON)
                    {"type": "NamespaceFinalizersRemaining", "status": "False", "lastTransitionTime": None},
                ],
            },
        },
    ),
    "configmap-immutable": (
        envelope(
            "v1",
            "ConfigMap",
            GOGO_EMPTY_META
            + v(4, True)
            + entry(2, "k", s(2, "v"))
            + entry(3, "bin", s(2, b"\x00\xff"))
            + entry(3, "none", b""),
        ),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {},
            "immutable": True,
            "data": {"k": "v"},
            "binaryData": {"bin": "AP8=", "none": ""},
        },
    ),
    "secret-stringdata": (
        envelope("v1", "Secret", m(1, s(1, "s")) + v(5, False) + entry(4, "plain", s(2, "text")) + s(3, "Opaque")),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "immutable": False,
            "stringData": {"plain": "text"},
            "type": "Opaque",
        },
    ),
    "serviceaccount-full": (
        envelope(
            "v1",
            "ServiceAccount",
            m(1, s(1, "builder"))
            + m(2, s(1, "Secret"), s(3, "tok"), s(2, ""))
            + m(3, s(1, "regcred"))
            + m(3)
            + v(4, False),
        ),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "builder"},
            "secrets": [{"kind": "Secret", "name": "tok"}],
            "imagePullSecrets": [{"name": "regcred"}, {}],
            "automountServiceAccountToken": False,
        },
    ),
    "event-full": (
        envelope(
            "v1",
            "Event",
            m(1, s(1, "web.1"), s(3, "team-a"))
            + m(
                2,
                s(1, "Pod"),
                s(2, "team-a"),
                s(3, "web"),
                s(4, "uid-p"),
                s(5, "v1"),
                s(6, "7"),
                s(7, "spec.containers{web}"),
            )
            + s(3, "Started")
            + s(4, "Started container web")
            + m(5, s(1, "kubelet"), s(2, "node-1"))
            + time(6, T_2026)
            + time(7, T_2026 + 300)
            + v(8, 2)
            + s(9, "Normal")
            + time(10, T_2026, 123_456_789)
            + m(11, v(1, 2), time(2, T_2026 + 300, 5_000))
            + s(12, "Starting")
            + m(13, s(1, "Node"), s(3, "node-1"))
            + s(14, "kubelet")
            + s(15, "kubelet-node-1"),
        ),
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "team-a"},
            "involvedObject": {
                "kind": "Pod",
                "namespace": "team-a",
                "name": "web",
                "uid": "uid-p",
                "apiVersion": "v1",
                "resourceVersion": "7",
                "fieldPath": "spec.containers{web}",
            },
            "reason": "Started",
            "message": "Started container web",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2026-01-02T03:04:05Z",
            "lastTimestamp": "2026-01-02T03:09:05Z",
            "count": 2,
            "type": "Normal",
            "eventTime": "2026-01-02T03:04:05.123456Z",
            "series": {"count": 2, "lastObservedTime": "2026-01-02T03:09:05.000005Z"},
            "action": "Starting",
            "related": {"kind": "Node", "name": "node-1"},
            "reportingComponent": "kubelet",
            "reportingInstance": "kubelet-node-1",
        },
    ),
    "event-minimal": (
        # events.k8s.io-style minimal core Event: zero times render as null, non-omitempty strings as "".
        envelope("v1", "Event", m(1, s(1, "e"))),
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e"},
            "involvedObject": {},
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "eventTime": None,
            "reportingComponent": "",
            "reportingInstance": "",
        },
    ),
    "deleteoptions-full": (
        # DeleteOptions are registered in every group version: apps/v1 is as good as v1.
        envelope(
            "apps/v1",
            "DeleteOptions",
            v(1, 30) + m(2, s(1, "uid-1"), s(2, "")) + v(3, False) + s(4, "Foreground") + s(5, "All") + v(6, True),
        ),
        {
            "apiVersion": "apps/v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 30,
            "preconditions": {"uid": "uid-1", "resourceVersion": ""},
            "orphanDependents": False,
            "propagationPolicy": "Foreground",
            "dryRun": ["All"],
            "ignoreStoreReadErrorWithClusterBreakingPotential": True,
        },
    ),
    "deleteoptions-meta": (
        envelope("meta.k8s.io/v1", "DeleteOptions", s(4, "Orphan")),
        {"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions", "propagationPolicy": "Orphan"},
    ),
    "ssar-selectors": (
        envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            GOGO_EMPTY_META
            + m(
                2,
                m(
                    1,
                    s(1, "team-a"),
                    s(2, "list"),
                    s(3, ""),
                    s(4, "v1"),
                    s(5, "pods"),
                    s(6, ""),
                    s(7, ""),
                    m(8, s(1, "spec.nodeName=node-1"), m(2, s(1, "spec.nodeName"), s(2, "In"), s(3, "node-1"))),
                    m(
                        9,
                        s(1, ""),
                        m(2, s(1, "app"), s(2, "In"), s(3, "web"), s(3, "api")),
                        m(2, s(1, "tier"), s(2, "Exists")),
                    ),
                ),
            )
            + m(3, v(1, False), s(2, ""), s(3, ""), v(4, False)),
        ),
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {
                "resourceAttributes": {
                    "namespace": "team-a",
                    "verb": "list",
                    "version": "v1",
                    "resource": "pods",
                    "fieldSelector": {
                        "rawSelector": "spec.nodeName=node-1",
                        "requirements": [{"key": "spec.nodeName", "operator": "In", "values": ["node-1"]}],
                    },
                    "labelSelector": {
                        "requirements": [
                            {"key": "app", "operator": "In", "values": ["web", "api"]},
                            {"key": "tier", "operator": "Exists"},
                        ]
                    },
                }
            },
            "status": {"allowed": False},
        },
    ),
    "sar": (
        envelope(
            "authorization.k8s.io/v1",
            "SubjectAccessReview",
            m(
                2,
                m(1, s(1, "team-a"), s(2, "get"), s(5, "secrets"), s(7, "db")),
                s(3, "alice"),
                s(4, "devs"),
                s(4, "system:authenticated"),
                entry(5, "scopes", m(2, s(1, "read"), s(1, "write"))),
                entry(5, "empty", m(2)),
                s(6, "uid-alice"),
            )
            + m(3, v(1, True), s(2, "RBAC: allowed")),
        ),
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "metadata": {},
            "spec": {
                "resourceAttributes": {"namespace": "team-a", "verb": "get", "resource": "secrets", "name": "db"},
                "user": "alice",
                "groups": ["devs", "system:authenticated"],
                # ExtraValue is a Go []string: a value without items is a nil slice, i.e. null
                "extra": {"scopes": ["read", "write"], "empty": None},
                "uid": "uid-alice",
            },
            "status": {"allowed": True, "reason": "RBAC: allowed"},
        },
    ),
    "sar-empty": (
        envelope("authorization.k8s.io/v1", "SubjectAccessReview", b""),
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "metadata": {},
            "spec": {},
            "status": {"allowed": False},
        },
    ),
    "ssrr-status": (
        envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectRulesReview",
            m(2, s(1, "ns"))
            + m(
                3,
                m(1, s(1, "get"), s(2, ""), s(3, "pods")),
                m(1),
                m(2, s(1, "get"), s(2, "/healthz")),
                v(3, True),
                s(4, "partial"),
            ),
        ),
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "metadata": {},
            "spec": {"namespace": "ns"},
            "status": {
                "resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, {"verbs": None}],
                "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}],
                "incomplete": True,
                "evaluationError": "partial",
            },
        },
    ),
    "selfsubjectreview-status": (
        envelope(
            "authentication.k8s.io/v1",
            "SelfSubjectReview",
            m(2, m(1, s(1, "alice"), s(2, "uid-a"), s(3, "devs"), entry(4, "k", m(2, s(1, "v"))))),
        ),
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "SelfSubjectReview",
            "metadata": {},
            "status": {"userInfo": {"username": "alice", "uid": "uid-a", "groups": ["devs"], "extra": {"k": ["v"]}}},
        },
    ),
    "tokenrequest-minimal": (
        # audiences, expirationSeconds and boundObjectRef have no omitempty: absent means null
        envelope("authentication.k8s.io/v1", "TokenRequest", m(2) + m(3, s(1, "tok"), time(2, T_2026))),
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {},
            "spec": {"audiences": None, "expirationSeconds": None, "boundObjectRef": None},
            "status": {"token": "tok", "expirationTimestamp": "2026-01-02T03:04:05Z"},
        },
    ),
    "tokenrequest-attestations": (
        envelope(
            "authentication.k8s.io/v1", "TokenRequest", m(2, s(1, "api"), v(4, 600), entry(5, "tpm", m(2, s(1, "q1"))))
        ),
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {},
            "spec": {
                "audiences": ["api"],
                "expirationSeconds": 600,
                "boundObjectRef": None,
                "attestations": {"tpm": ["q1"]},
            },
            "status": {"token": "", "expirationTimestamp": None},
        },
    ),
    "tokenreview": (
        envelope("authentication.k8s.io/v1", "TokenReview", m(2, s(1, "jwt"), s(2, "api"))),
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "metadata": {},
            "spec": {"token": "jwt", "audiences": ["api"]},
            "status": {"user": {}},
        },
    ),
    "lease": (
        envelope(
            "coordination.k8s.io/v1",
            "Lease",
            m(1, s(1, "kube-scheduler"), s(3, "kube-system"))
            + m(
                2,
                s(1, "sched-1_abc"),
                v(2, 15),
                time(3, T_2026, 1_999),
                time(4, T_2026 + 300, 987_654_321),
                v(5, -1),
                s(6, "OldestEmulationVersion"),
                s(7, ""),
            ),
        ),
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
            "spec": {
                "holderIdentity": "sched-1_abc",
                "leaseDurationSeconds": 15,
                "acquireTime": "2026-01-02T03:04:05.000001Z",
                "renewTime": "2026-01-02T03:09:05.987654Z",
                "leaseTransitions": -1,
                "strategy": "OldestEmulationVersion",
                "preferredHolder": "",
            },
        },
    ),
    "lease-empty-spec": (
        envelope("coordination.k8s.io/v1", "Lease", m(1, s(1, "l")) + m(2)),
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {}},
    ),
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic(name: str) -> None:
    body, expected = SYNTHETIC[name]
    got = decode(body)
    assert got == expected
    assert list(got)[:2] == ["apiVersion", "kind"]
    json.dumps(got)


def test_kinds_table_covers_the_brief() -> None:
    for gvk in [
        ("v1", "Namespace"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("v1", "Event"),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview"),
        ("authorization.k8s.io/v1", "SubjectAccessReview"),
        ("authentication.k8s.io/v1", "SelfSubjectReview"),
        ("authentication.k8s.io/v1", "TokenRequest"),
        ("coordination.k8s.io/v1", "Lease"),
        (pb.ANY_VERSION, "DeleteOptions"),
    ]:
        assert gvk in pb.KINDS


# ------------------------------------------------------------------------------------------------
# Wire-format details
# ------------------------------------------------------------------------------------------------


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    junk = v(99, 5) + key(98, 1) + b"\x01" * 8 + key(97, 5) + b"\x02" * 4 + s(96, b"\xff\xfe")
    body = envelope("v1", "Namespace", junk + m(1, s(1, "x"), junk) + junk)
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "x"},
        "spec": {},
        "status": {},
    }


def test_unknown_envelope_fields_are_skipped() -> None:
    body = envelope("v1", "Namespace", m(1, s(1, "x"))) + v(9, 1) + s(10, "extra")
    assert decode(body)["metadata"] == {"name": "x"}


def test_last_scalar_wins_and_message_occurrences_merge() -> None:
    body = envelope(
        "v1",
        "ConfigMap",
        m(1, s(1, "first"), entry(11, "a", s(2, "1")))
        + m(1, s(1, "second"), entry(11, "b", s(2, "2")), entry(11, "a", s(2, "3"))),
    )
    assert decode(body)["metadata"] == {"name": "second", "labels": {"a": "3", "b": "2"}}


def test_map_entry_without_key_or_value() -> None:
    body = envelope("v1", "ConfigMap", m(2) + m(3, s(1, "k")))
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {},
        "data": {"": ""},
        "binaryData": {"k": ""},
    }


def test_negative_and_large_integers() -> None:
    body = envelope("v1", "Namespace", m(1, v(7, 2**63 - 1), v(10, -30)))
    assert decode(body)["metadata"] == {"generation": 2**63 - 1, "deletionGracePeriodSeconds": -30}
    # int32 takes the low 32 bits, two's complement, as Go does
    body = envelope("coordination.k8s.io/v1", "Lease", m(2, v(2, 2**32 + 5), v(5, 2**31)))
    assert decode(body)["spec"] == {"leaseDurationSeconds": 5, "leaseTransitions": -(2**31)}


def test_bool_is_any_nonzero_varint() -> None:
    body = envelope("v1", "ConfigMap", v(4, 2))
    assert decode(body)["immutable"] is True


def test_invalid_utf8_is_replaced_like_go_json() -> None:
    body = envelope("v1", "Namespace", m(1, s(1, b"bad\xffname")))
    assert decode(body)["metadata"]["name"] == "bad\ufffdname"


def test_times() -> None:
    def created(*parts: bytes) -> Any:
        return decode(envelope("v1", "Namespace", m(1, *parts)))["metadata"].get("creationTimestamp", "omitted")

    assert created(time(8, T_2026, 5)) == "2026-01-02T03:04:05Z"
    assert created(time(8, 0)) == "1970-01-01T00:00:00Z"  # epoch is not Go's zero time
    assert created(m(8)) == "omitted"  # omitzero
    assert created(time(8, GO_ZERO_TIME)) == "omitted"
    assert created(time(8, 253402300799)) == "9999-12-31T23:59:59Z"
    assert created(time(8, -62135596800 + 86400 * 365)) == "0002-01-01T00:00:00Z"
    deleted = decode(envelope("v1", "Namespace", m(1, m(9))))["metadata"]
    assert deleted == {"deletionTimestamp": None}  # a set pointer to a zero Time

    def renew(seconds: int, nanos: int) -> Any:
        return decode(envelope("coordination.k8s.io/v1", "Lease", m(2, time(4, seconds, nanos))))["spec"]["renewTime"]

    assert renew(T_2026, 999_999_999) == "2026-01-02T03:04:05.999999Z"  # truncated, not rounded
    assert renew(T_2026, -1_500) == "2026-01-02T03:04:04.999999Z"  # truncated toward zero, then normalised
    assert renew(GO_ZERO_TIME, 0) is None


def test_special_types_via_decode_message() -> None:
    """Special types not used by any supported kind yet: IntOrString, Quantity, RawExtension."""
    probe = pb.Message(
        "Probe",
        (
            pb.Field(1, "port", pb.INT_OR_STRING),
            pb.Field(2, "target", pb.INT_OR_STRING),
            pb.Field(3, "memory", pb.QUANTITY),
            pb.Field(4, "object", pb.RAW_EXTENSION),
            pb.Field(5, "unset", pb.RAW_EXTENSION),
            pb.Field(6, "numbers", pb.Scalar.INT32, pb.Cardinality.REPEATED),
        ),
    )
    data = (
        m(1, v(1, 0), v(2, 8080))
        + m(2, v(1, 1), s(3, "http"))
        + m(3, s(1, "512Mi"))
        + m(4, s(1, b'{"kind":"Pod","spec":{"x":[1,2.5,null]}}'))
        + m(5)
        + v(6, 1)
        + s(6, varint(2) + varint(-3))
    )  # unpacked and packed occurrences
    assert pb.decode_message(probe, data) == {
        "port": 8080,
        "target": "http",
        "memory": "512Mi",
        "object": {"kind": "Pod", "spec": {"x": [1, 2.5, None]}},
        "unset": None,
        "numbers": [1, 2, -3],
    }
    assert pb.decode_message(probe, b"")["port"] == 0
    with pytest.raises(BadRequest, match="IntOrString"):
        pb.decode_message(probe, m(1, v(1, 7)))
    with pytest.raises(BadRequest, match="RawExtension"):
        pb.decode_message(probe, m(4, s(1, b"{not json")))
    with pytest.raises(BadRequest, match="RawExtension"):
        pb.decode_message(probe, m(4, s(1, pb.MAGIC + b"\x0a\x00")))


def test_descriptors_are_validated() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        pb.Message("Bad", (pb.Field(1, "a", pb.Scalar.STRING), pb.Field(1, "b", pb.Scalar.STRING)))
    with pytest.raises(ValueError, match="scalar"):
        pb.Message("Bad", (pb.Field(1, "a", pb.TIME),), convert=lambda values, empty: None)


# ------------------------------------------------------------------------------------------------
# Errors: always BadRequest
# ------------------------------------------------------------------------------------------------

NAMESPACE_BODY = pb.MAGIC + m(1, s(1, "v1"), s(2, "Namespace")) + s(2, m(1, s(1, "x")))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "magic"),
        (b'{"kind":"Namespace"}', "magic"),
        (b"k8s", "magic"),
        (NAMESPACE_BODY[:-1], "runs past the end"),
        (pb.MAGIC + b"\x0a", "end of data inside a varint"),
        (pb.MAGIC + b"\x0a\x80", "end of data inside a varint"),
        (pb.MAGIC + b"\x08" + b"\xff" * 11, "overflows 64 bits"),
        (pb.MAGIC + b"\x00\x00", "illegal field number 0"),
        (pb.MAGIC + key(1, 3), "wire type 3"),
        (pb.MAGIC + key(1, 4), "wire type 4"),
        (pb.MAGIC + key(1, 6), "wire type 6"),
        (pb.MAGIC + key(5, 1) + b"\x00" * 7, "truncated fixed64"),
        (pb.MAGIC + key(5, 5) + b"\x00" * 3, "truncated fixed32"),
        (pb.MAGIC + v(1, 1), "wrong wire type"),  # typeMeta must be a message
        (envelope("v1", "Namespace", v(1, 1)), r"Namespace\.metadata: wrong wire type 0 \(expected 2\)"),
        (envelope("v1", "ConfigMap", s(4, "yes")), r"ConfigMap\.immutable: wrong wire type"),
        (envelope("v1", "Namespace", m(1, m(17, m(7, s(1, b"{oops"))))), "FieldsV1 does not hold valid JSON"),
        (envelope("v1", "Namespace", m(1, m(17, m(7, s(1, b"NaN"))))), "FieldsV1 does not hold valid JSON"),
        (envelope("v1", "Namespace", m(1, m(17, m(7, s(1, b"[" * 100_000))))), "FieldsV1 does not hold"),
        (envelope("v1", "Namespace", m(1, time(8, 2**62))), "timestamp out of range"),
        (envelope("v1", "Namespace", m(1, time(8, -(2**62)))), "timestamp out of range"),
        (pb.MAGIC + m(1, s(1, "v1"), s(2, "Namespace")) + s(3, "gzip"), "contentEncoding"),
        (pb.MAGIC + m(1, s(1, "v1"), s(2, "Namespace")) + s(4, "application/json"), "contentType"),
    ],
)
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message) as info:
        decode(body)
    assert info.value.code == 400
    assert info.value.message.startswith("unable to decode protobuf request body: ")


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("v1", "Pod"), ("v2", "Namespace"), ("apps/v1", "Secret"), ("example.com/v1", "Widget"), ("", "")],
)
def test_unknown_kinds(api_version: str, kind: str) -> None:
    with pytest.raises(BadRequest) as info:
        decode(envelope(api_version, kind, b""))
    message = info.value.message
    assert message.startswith(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"
    )
    if kind:
        assert f'kind "{kind}" in version "{api_version}"' in message
    else:
        assert "without a kind" in message


def test_protobuf_content_type_with_parameters_is_accepted() -> None:
    body = pb.MAGIC + m(1, s(1, "v1"), s(2, "Namespace")) + s(4, PROTOBUF_MEDIA_TYPE + "; charset=binary")
    assert decode(body)["kind"] == "Namespace"


def _decode_or_bad_request(body: bytes) -> None:
    try:
        got = decode(body)
    except BadRequest:
        return
    assert isinstance(got, dict)
    json.dumps(got)


def test_fuzz_random_bytes() -> None:
    rng = random.Random(20261123)
    for _ in range(3000):
        size = rng.randrange(0, 64)
        _decode_or_bad_request(pb.MAGIC + rng.randbytes(size))
        _decode_or_bad_request(rng.randbytes(size))


def test_fuzz_mutated_real_and_synthetic_bodies() -> None:
    rng = random.Random(4242)
    bodies = [fixture(p.name) for p in sorted(FIXTURES.glob("*.bin"))] + [b for b, _ in SYNTHETIC.values()]
    for body in bodies:
        for cut in range(len(body) + 1):  # every truncation
            _decode_or_bad_request(body[:cut])
        for _ in range(300):
            data = bytearray(body)
            for _ in range(rng.randrange(1, 4)):
                op = rng.randrange(3)
                pos = rng.randrange(len(pb.MAGIC), len(data)) if len(data) > len(pb.MAGIC) else len(data)
                if op == 0 and pos < len(data):
                    data[pos] ^= 1 << rng.randrange(8)
                elif op == 1:
                    data[pos:pos] = rng.randbytes(rng.randrange(1, 4))
                elif pos < len(data):
                    del data[pos]
            _decode_or_bad_request(bytes(data))
