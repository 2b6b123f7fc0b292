"""Subresources as capabilities: what each subresource a kind may declare can do, verb by verb.

A kind declares its subresources (`ResourceInfo.subresources`, `extra_subresources`); the
pipeline answers 404 for any it does not declare, and the dispatcher looks the verb up here, 405
for a verb the subresource does not serve. The implementation stays with the kind: `status` is
the Store's (the object, only `.status` writable), `scale` maps through the CRD's replica paths
(kube.registry.scale), `finalize` is the namespace lifecycle's, `token` the kind's strategy's
`create_subresource` (TokenRequest of a ServiceAccount)."""

from __future__ import annotations

from collections.abc import Mapping

from kube import errors
from kube.builtin.namespaces import namespace_finalize
from kube.decoding import json_decode
from kube.registry import scale

from ..negotiation import decode_body, media_type
from ..pipeline import ResolvedRequest
from . import objects
from .base import Handler, Reply, RequestBody, write_body


def scale_get(req: ResolvedRequest, body: RequestBody) -> Reply:
    return Reply(scale.scale_get(req.info, req.ctx, req.namespace, req.name))


def scale_update(req: ResolvedRequest, body: RequestBody) -> Reply:
    data = write_body(req, body, validation=False)
    return Reply(scale.scale_update(req.info, req.ctx, req.namespace, req.name, decode_body(data, body.content_type)))


def scale_patch(req: ResolvedRequest, body: RequestBody) -> Reply:
    data = write_body(req, body, validation=False)
    patched = scale.scale_patch(
        req.info, req.ctx, req.namespace, req.name, media_type(body.content_type), json_decode(data)
    )
    return Reply(patched)


def finalize_update(req: ResolvedRequest, body: RequestBody) -> Reply:
    """PUT namespaces/<name>/finalize: replaces spec.finalizers (the only way to change them)."""
    data = decode_body(write_body(req, body), body.content_type)
    if not isinstance(data, dict):
        raise errors.BadRequest("the body must be a Namespace")
    finalizers = list(((data.get("spec") or {}).get("finalizers")) or [])
    obj = namespace_finalize(ctx=req.ctx, name=req.name, finalizers=finalizers)
    return Reply(obj, warnings=tuple(req.ctx.warnings))


def token_create(req: ResolvedRequest, body: RequestBody) -> Reply:
    """POST serviceaccounts/<name>/token: the kind's strategy issues the TokenRequest."""
    data = write_body(req, body)
    info = req.info
    obj = info.strategy.create_subresource(
        info, req.ctx, req.namespace, req.name, req.subresource, decode_body(data, body.content_type)
    )
    return Reply(obj, status=201)


#: subresource → verb → handler.
SUBRESOURCES: Mapping[str, Mapping[str, Handler]] = {
    "status": {"get": objects.get, "update": objects.update, "patch": objects.patch},
    "scale": {"get": scale_get, "update": scale_update, "patch": scale_patch},
    "finalize": {"update": finalize_update},
    "token": {"create": token_create},
}
