"""One handler per verb, looked up instead of branched to.

`handler_for(req)` is the dispatch of a resolved resource request: the verb's handler on the
kind's objects (`objects`), or, for a subresource, the handler the subresource declares for the
verb (`subresources`; the pipeline already refused subresources the kind does not declare). A
watch is prepared by `watch.prepare`, called by the watch consumer instead of a handler: its
answer is a stream, not a `Reply`."""

from __future__ import annotations

from collections.abc import Mapping

from kube import errors

from ..pipeline import ResolvedRequest
from . import objects
from .base import METHOD_NOT_ALLOWED, Handler, Reply, RequestBody
from .subresources import SUBRESOURCES

__all__ = ["Handler", "Reply", "RequestBody", "VERBS", "handler_for"]

#: verb → handler on a kind's objects.
VERBS: Mapping[str, Handler] = {
    "get": objects.get,
    "list": objects.list_,
    "create": objects.create,
    "update": objects.update,
    "patch": objects.patch,
    "delete": objects.delete,
    "deletecollection": objects.deletecollection,
}


def handler_for(req: ResolvedRequest) -> Handler:
    """The handler of `req`'s verb (on its subresource, if any); 405 when there is none."""
    table = SUBRESOURCES.get(req.subresource, {}) if req.subresource else VERBS
    handler = table.get(req.verb)
    if handler is None:
        raise errors.MethodNotAllowed(METHOD_NOT_ALLOWED)
    return handler
