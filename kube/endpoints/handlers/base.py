"""What every handler takes and returns: the resolved request, the request body (read only when
a handler asks for it, so a refused request is never read), and a `Reply` the transport renders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from kube import errors
from kube.registry import ResourceInfo

from .. import options
from ..pipeline import ResolvedRequest


@dataclass(frozen=True)
class Reply:
    """A response: `data` serialized as JSON, or `raw` bytes as they are; `warnings` become
    `Warning: 299` headers."""

    data: Any = None
    status: int = 200
    content_type: str = "application/json"
    warnings: tuple[str, ...] = ()
    raw: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class RequestBody:
    """The body of the request being handled, read at most once and never beyond the limit
    (`KUBE_MAX_REQUEST_BYTES`): 413 when it declares or turns out longer."""

    def __init__(self, *, content_type: str, content_length: str, read: Callable[[int], bytes]) -> None:
        self.content_type = content_type
        self._content_length = content_length
        self._read = read

    def read(self, *, required: bool) -> bytes:
        """The body's bytes; 400 when `required` and there is nothing but whitespace."""
        limit = settings.KUBE_MAX_REQUEST_BYTES
        try:
            declared = int(self._content_length or "0")
        except ValueError:
            declared = 0
        if declared > limit:
            raise errors.RequestEntityTooLarge(f"Request entity too large: limit is {limit}")
        body = self._read(limit + 1)
        if len(body) > limit:
            raise errors.RequestEntityTooLarge(f"Request entity too large: limit is {limit}")
        if required and not body.strip():
            raise errors.BadRequest("the request body is empty")
        return body


Handler = Callable[[ResolvedRequest, RequestBody], Reply]

METHOD_NOT_ALLOWED = "the server does not allow this method on the requested resource"


def write_body(req: ResolvedRequest, body: RequestBody, *, validation: bool = True) -> bytes:
    """Read a write's body and set its options on the request context, in the apiserver's order:
    the body (413/400), dryRun, fieldValidation (unless the kind has no field validation, as a
    Scale), fieldManager (the User-Agent by default)."""
    data = body.read(required=True)
    ctx = req.ctx
    ctx.dry_run = options.dry_run(list(req.dry_run))
    if validation:
        ctx.field_validation = options.field_validation(req.query.get("fieldValidation"))
    ctx.field_manager = options.field_manager(req.query.get("fieldManager"), req.user_agent)
    return data


def list_body(
    info: ResourceInfo, items: list[dict[str, Any]], rv: str, token: str, remaining: int | None
) -> dict[str, Any]:
    """A `<Kind>List` of `items` at revision `rv`, with its continue token and remaining count."""
    meta: dict[str, Any] = {"resourceVersion": rv}
    if token:
        meta["continue"] = token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return {"kind": info.list_kind, "apiVersion": info.group_version, "metadata": meta, "items": items}
