"""The verbs on a kind's objects (and on their `status`, which the Store serves as the object
with only `.status` writable): one function per verb, each `(request, body) → Reply`."""

from __future__ import annotations

from typing import Any

from kube import errors
from kube.decoding import json_decode, yaml_decode
from kube.registry.store import PATCH_APPLY, PATCH_TYPES, STORE

from .. import options, table
from ..negotiation import TABLE_CONTENT_TYPE, decode_body, media_type, wants_table
from ..pipeline import ResolvedRequest
from .base import METHOD_NOT_ALLOWED, Reply, RequestBody, list_body, write_body


def get(req: ResolvedRequest, body: RequestBody) -> Reply:
    info = req.info
    obj = STORE.get(info, req.ctx, req.namespace, req.name)
    if wants_table(req.accept):
        return Reply(
            table.table(
                info,
                [obj],
                include_object=req.query.get("includeObject", "Metadata"),
                resource_version=obj["metadata"].get("resourceVersion", ""),
            ),
            content_type=TABLE_CONTENT_TYPE,
        )
    return Reply(obj)


def list_(req: ResolvedRequest, body: RequestBody) -> Reply:
    info = req.info
    lo = options.list_options(req.query, info, watch=False)
    result = STORE.list(
        info,
        req.ctx,
        req.namespace,
        label_q=lo.label_q,
        field_q=lo.field_q,
        limit=lo.limit,
        continue_token=lo.continue_token,
    )
    if lo.resource_version_match == "Exact" and lo.resource_version and int(lo.resource_version) != result.revision:
        raise errors.Expired(f"too old resource version: {lo.resource_version} ({result.revision})")
    rv = str(result.revision)
    if wants_table(req.accept):
        return Reply(
            table.table(
                info,
                result.items,
                include_object=lo.include_object,
                resource_version=rv,
                continue_token=result.continue_token,
                remaining=result.remaining,
            ),
            content_type=TABLE_CONTENT_TYPE,
        )
    return Reply(list_body(info, result.items, rv, result.continue_token, result.remaining))


def create(req: ResolvedRequest, body: RequestBody) -> Reply:
    """POST to the collection: a stored object, or the answer of a kind that stores nothing
    (reviews). Through a confining surface the object gets the surface's label."""
    data = write_body(req, body)
    if req.name:
        raise errors.MethodNotAllowed(METHOD_NOT_ALLOWED)
    info, ctx = req.info, req.ctx
    if info.strategy.virtual:
        return Reply(info.strategy.create_virtual(info, ctx, decode_body(data, body.content_type)), status=201)
    new = decode_body(data, body.content_type)
    if req.confine:  # the server's label: added after the Store's reserved-metadata check
        ctx.server_labels[req.confine] = ""
    obj = STORE.create(info, ctx, req.namespace, new)
    return Reply(obj, status=201, warnings=tuple(ctx.warnings))


def update(req: ResolvedRequest, body: RequestBody) -> Reply:
    data = decode_body(write_body(req, body), body.content_type)
    obj = STORE.update(req.info, req.ctx, req.namespace, req.name, data, subresource=req.subresource)
    return Reply(obj, warnings=tuple(req.ctx.warnings))


def patch(req: ResolvedRequest, body: RequestBody) -> Reply:
    """JSON, merge and strategic-merge patches, and server-side apply (YAML; its fieldManager
    has no User-Agent default)."""
    data = write_body(req, body)
    info, ctx = req.info, req.ctx
    media = media_type(body.content_type)
    if media not in PATCH_TYPES:
        raise errors.UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(t for t in PATCH_TYPES if info.strategy.allow_strategic_merge_patch or "strategic" not in t)
        )
    if media == PATCH_APPLY:
        ctx.field_manager = req.query.get("fieldManager", "")
    patch_doc = yaml_decode(data) if media == PATCH_APPLY else json_decode(data)
    # kube forbids `force` on other patches whatever its value (PatchOptions.Force is a pointer).
    force = options._bool(req.query.get("force")) or (media != PATCH_APPLY and "force" in req.query)
    obj, created = STORE.patch(
        info, ctx, req.namespace, req.name, media, patch_doc, force=force, subresource=req.subresource
    )
    return Reply(obj, status=201 if created else 200, warnings=tuple(ctx.warnings))


def delete(req: ResolvedRequest, body: RequestBody) -> Reply:
    data = body.read(required=False)
    ctx = req.ctx
    ctx.dry_run = options.dry_run(list(req.dry_run), verb=req.verb)
    opts = delete_options(data, body.content_type, req.query)
    ctx.dry_run = ctx.dry_run or options.dry_run(opts.get("dryRun") or [], verb=req.verb)
    return Reply(STORE.delete(req.info, ctx, req.namespace, req.name, opts))


def deletecollection(req: ResolvedRequest, body: RequestBody) -> Reply:
    data = body.read(required=False)
    info, ctx = req.info, req.ctx
    ctx.dry_run = options.dry_run(list(req.dry_run), verb=req.verb)
    lo = options.list_options(req.query, info, watch=False)
    opts = delete_options(data, body.content_type, req.query)
    ctx.dry_run = ctx.dry_run or options.dry_run(opts.get("dryRun") or [], verb=req.verb)
    result = STORE.delete_collection(info, ctx, req.namespace, label_q=lo.label_q, field_q=lo.field_q, options=opts)
    return Reply(list_body(info, result.items, str(result.revision), "", None))


def delete_options(body: bytes, content_type: str, query: Any) -> dict[str, Any]:
    """DeleteOptions from the body (if any) and the query (`gracePeriodSeconds`,
    `propagationPolicy`, which win)."""
    opts: dict[str, Any] = {}
    if body.strip():
        decoded = decode_body(body, content_type)
        if not isinstance(decoded, dict):
            raise errors.BadRequest("DeleteOptions must be an object")
        kind = decoded.get("kind")
        if kind not in (None, "", "DeleteOptions"):
            raise errors.BadRequest(f"the body of a DELETE must be DeleteOptions, not {kind}")
        options.delete_options_check_types(options=decoded)
        opts = decoded
    if "gracePeriodSeconds" in query:
        try:
            opts["gracePeriodSeconds"] = options.int64(query["gracePeriodSeconds"])
        except ValueError:
            raise errors.BadRequest("gracePeriodSeconds must be an integer") from None
    if query.get("propagationPolicy"):
        opts["propagationPolicy"] = query["propagationPolicy"]
    return opts
