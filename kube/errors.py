"""Kubernetes API errors. Every failure the API reports is a `StatusError`; one handler
(`kube.endpoints.errors`) renders it as a metav1.Status, so messages and reasons are decided
once, here, in the wording of the real apiserver (reference/kube-clients.md §7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cause:
    """One entry of Status.details.causes."""

    reason: str
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, str]:
        d = {"reason": self.reason, "message": self.message}
        if self.field:
            d["field"] = self.field
        return d


class StatusError(Exception):
    """An API error carrying everything a metav1.Status needs."""

    code = 500
    reason = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        reason: str | None = None,
        name: str = "",
        group: str = "",
        kind: str = "",
        causes: list[Cause] | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes or []
        self.retry_after = retry_after
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.as_dict() for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


class BadRequest(StatusError):
    code, reason = 400, "BadRequest"


class Unauthorized(StatusError):
    code, reason = 401, "Unauthorized"


class Forbidden(StatusError):
    code, reason = 403, "Forbidden"


class NotFound(StatusError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(StatusError):
    code, reason = 405, "MethodNotAllowed"


class NotAcceptable(StatusError):
    code, reason = 406, "NotAcceptable"


class AlreadyExists(StatusError):
    code, reason = 409, "AlreadyExists"


class Conflict(StatusError):
    code, reason = 409, "Conflict"


class Expired(StatusError):
    code, reason = 410, "Expired"


class RequestEntityTooLarge(StatusError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(StatusError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(StatusError):
    code, reason = 422, "Invalid"


class TooManyRequests(StatusError):
    code, reason = 429, "TooManyRequests"


class InternalError(StatusError):
    code, reason = 500, "InternalError"


class ServiceUnavailable(StatusError):
    code, reason = 503, "ServiceUnavailable"


def not_found(resource: str, name: str, group: str = "") -> NotFound:
    qualified = f"{resource}.{group}" if group else resource
    return NotFound(f'{qualified} "{name}" not found', name=name, group=group, kind=resource)


def already_exists(resource: str, name: str, group: str = "") -> AlreadyExists:
    qualified = f"{resource}.{group}" if group else resource
    return AlreadyExists(f'{qualified} "{name}" already exists', name=name, group=group, kind=resource)


def conflict(resource: str, name: str, group: str = "", detail: str = "") -> Conflict:
    qualified = f"{resource}.{group}" if group else resource
    detail = detail or "the object has been modified; please apply your changes to the latest version and try again"
    return Conflict(
        f'Operation cannot be fulfilled on {qualified} "{name}": {detail}', name=name, group=group, kind=resource
    )


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> Invalid:
    """422 in the apiserver's wording: `<Kind> "<name>" is invalid: <field>: <detail>, ...`."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    qualified = f"{kind}.{group}" if group else kind
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return Invalid(
        f'{qualified} "{name}" is invalid: {summary}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


#: Field errors one validation collects before it gives up. A body of a million invalid list items
#: (3 MB of `"",`) would otherwise take seconds to check and answer with a Status of hundreds of
#: megabytes; the client learns as much from the first thousand.
MAX_FIELD_ERRORS = 1000


class _Causes(list[Cause]):
    """A list of causes that refuses to grow past MAX_FIELD_ERRORS: the next one raises a 422
    Invalid carrying the ones collected, which ends the validation wherever it is."""

    def append(self, cause: Cause) -> None:
        if len(self) >= MAX_FIELD_ERRORS:
            first = self[0]
            raise Invalid(
                f"the object is invalid: more than {MAX_FIELD_ERRORS} field errors, the first: "
                + (f"{first.field}: {first.message}" if first.field else first.message),
                causes=list(self),
            )
        super().append(cause)

    def extend(self, causes: Any) -> None:
        for cause in causes:
            self.append(cause)


@dataclass
class FieldErrors:
    """Collects field validation errors in apimachinery's `field.ErrorList` style (at most
    MAX_FIELD_ERRORS: one more raises Invalid)."""

    causes: list[Cause] = field(default_factory=_Causes)

    def required(self, path: str, detail: str = "") -> None:
        self.causes.append(Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.causes.append(Cause("FieldValueInvalid", f"Invalid value: {_render(value)}: {detail}", path))

    def forbidden(self, path: str, detail: str) -> None:
        self.causes.append(Cause("FieldValueForbidden", f"Forbidden: {detail}", path))

    def not_supported(self, path: str, value: Any, allowed: list[str]) -> None:
        vals = ", ".join(f'"{a}"' for a in allowed)
        self.causes.append(
            Cause("FieldValueNotSupported", f"Unsupported value: {_render(value)}: supported values: {vals}", path)
        )

    def too_long(self, path: str, limit: int) -> None:
        self.causes.append(Cause("FieldValueTooLong", f"Too long: must have at most {limit} bytes", path))

    def duplicate(self, path: str, value: Any) -> None:
        self.causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_render(value)}", path))

    def extend(self, other: FieldErrors) -> None:
        self.causes.extend(other.causes)

    def __bool__(self) -> bool:
        return bool(self.causes)

    def raise_invalid(self, kind: str, name: str, group: str = "") -> None:
        if self.causes:
            raise invalid(kind, name, self.causes, group)


def _render(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
