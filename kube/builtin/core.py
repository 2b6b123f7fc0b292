"""core/v1 kinds of a generic control plane."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from kube import errors
from kube.authz.tokens import serviceaccount_token_issue
from kube.errors import BadRequest, FieldErrors, invalid
from kube.registry import Column, Strategy
from kube.registry.store import STORE
from kube.timefmt import format_rfc3339

from .events import event_columns

Obj = dict[str, Any]

#: Namespaces no DELETE removes (the apiserver's NamespaceLifecycle list). A whole logical
#: cluster's namespaces still go when its workspace is deleted (that purges, it does not DELETE).
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def _count_data(obj: Obj) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


class NamespaceStrategy(Strategy):
    """Namespaces carry the `kubernetes` spec finalizer: deleting one turns it Terminating until the
    namespace controller has emptied it and removed the finalizer (`/finalize`)."""

    has_status_subresource = True
    name_is_dns_label = True
    field_labels = ("status.phase",)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}
        spec = obj.setdefault("spec", {}) or {}
        obj["spec"] = spec
        finalizers = list(spec.get("finalizers") or [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        # spec.finalizers changes only through /finalize.
        new["spec"] = dict(new.get("spec") or {})
        new["spec"]["finalizers"] = list((old.get("spec") or {}).get("finalizers") or [])

    def prepare_for_delete(self, obj: Obj) -> None:
        """A DELETE turns the namespace Terminating; the immortal ones refuse it instead (403, as the
        apiserver's NamespaceLifecycle admission: `kubectl delete ns --all` must leave them), dry
        runs included. Runs in the delete's transaction before anything is written."""
        name = str((obj.get("metadata") or {}).get("name", ""))
        if name in IMMORTAL_NAMESPACES:
            raise errors.Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted', name=name, kind="namespaces"
            )
        status = obj.setdefault("status", {})
        status["phase"] = "Terminating"

    def deletion_held(self, obj: Obj) -> bool:
        return super().deletion_held(obj) or bool((obj.get("spec") or {}).get("finalizers"))

    def columns(self) -> list[Column]:
        return [
            Column(
                "Status",
                "string",
                lambda o: (o.get("status") or {}).get("phase", ""),
                description="The status of the namespace",
            )
        ]


class ConfigMapStrategy(Strategy):
    def validate(self, obj: Obj) -> FieldErrors:
        errs = FieldErrors()
        data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
        for key in set(data) & set(binary):
            errs.invalid("data", key, "duplicate of key present in binaryData")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = self.validate(new)
        if old.get("immutable") and (
            new.get("data") != old.get("data") or new.get("binaryData") != old.get("binaryData")
        ):
            errs.forbidden("data", "field is immutable when `immutable` is set")
        if old.get("immutable") and not new.get("immutable"):
            errs.forbidden("immutable", "field is immutable when `immutable` is set")
        return errs

    def columns(self) -> list[Column]:
        return [Column("Data", "integer", _count_data, description="Number of data entries")]


class SecretStrategy(Strategy):
    field_labels = ("type",)

    def prepare_for_create(self, obj: Obj) -> None:
        _fold_string_data(obj)
        obj.setdefault("type", "Opaque")

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        _fold_string_data(new)
        new.setdefault("type", old.get("type", "Opaque"))

    def validate_update(self, new: Obj, old: Obj) -> FieldErrors:
        errs = FieldErrors()
        if new.get("type") != old.get("type"):
            errs.invalid("type", new.get("type"), "field is immutable")
        if old.get("immutable") and new.get("data") != old.get("data"):
            errs.forbidden("data", "field is immutable when `immutable` is set")
        return errs

    def columns(self) -> list[Column]:
        return [
            Column("Type", "string", lambda o: o.get("type", ""), description="The type of the secret"),
            Column("Data", "integer", _count_data, description="Number of data entries"),
        ]


def _fold_string_data(obj: Obj) -> None:
    """stringData is write-only: merged into data (base64) and never stored, as upstream."""
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = dict(obj.get("data") or {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        obj["data"] = data


class ServiceAccountStrategy(Strategy):
    def create_subresource(self, info: Any, ctx: Any, namespace: str, name: str, subresource: str, body: Any) -> Obj:
        """POST serviceaccounts/<name>/token (TokenRequest): a JWT valid only in this logical cluster."""
        if subresource != "token":
            return super().create_subresource(info, ctx, namespace, name, subresource, body)
        if not isinstance(body, dict) or (body.get("kind") or "TokenRequest") != "TokenRequest":
            raise BadRequest("the body of the request must be an authentication.k8s.io/v1 TokenRequest")
        spec = body.get("spec") or {}
        expiration = spec.get("expirationSeconds")
        if expiration is None:  # unset (protobuf bodies carry an explicit null)
            expiration = 3600
        if not isinstance(expiration, int) or isinstance(expiration, bool) or expiration < 600:
            errs = FieldErrors()
            errs.invalid("spec.expirationSeconds", expiration, "may not specify a duration less than 10 minutes")
            raise invalid("TokenRequest", name, errs.causes, "authentication.k8s.io")
        account = STORE.get(info, ctx, namespace, name)
        token, expires = serviceaccount_token_issue(
            cluster=ctx.cluster,
            namespace=namespace,
            name=name,
            uid=account["metadata"]["uid"],
            audiences=[str(a) for a in spec.get("audiences") or []],
            expiration_seconds=min(expiration, 48 * 3600),
        )
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": {**spec, "expirationSeconds": expiration},
            "status": {"token": token, "expirationTimestamp": format_rfc3339(datetime.fromtimestamp(expires, UTC))},
        }

    def columns(self) -> list[Column]:
        return [Column("Secrets", "integer", lambda o: len(o.get("secrets") or []), description="Number of secrets")]


class EventStrategy(Strategy):
    field_labels = (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    )

    def table_columns(self, name: Column, age: Column) -> list[Column]:
        return event_columns(name, lambda o: o)
