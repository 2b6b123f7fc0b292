"""Decoding a client's body: kind, apiVersion, namespace and name against the URL, the size limit,
fieldValidation, and conversion to the storage version."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
from django.conf import settings

from kube import errors

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj, _meta


class Decoding:
    """A client's body made a stored shape: checked against the URL, sized, fieldValidation."""

    def _decode(
        self, info: ResourceInfo, ctx: RequestContext, body: Any, namespace: str, name: str | None = None
    ) -> Obj:
        """Check kind/apiVersion/namespace/name against the URL and apply fieldValidation."""
        if not isinstance(body, dict):
            raise errors.BadRequest(f"the body of the request must be a {info.kind} object")
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion") or info.group_version
        kind = obj.get("kind") or info.kind
        if kind != info.kind or api_version != info.group_version:
            raise errors.BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({info.group_version})"
                if api_version != info.group_version
                else f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
            )
        obj["apiVersion"], obj["kind"] = api_version, kind
        md = _meta(obj)
        if info.namespaced:
            if md.get("namespace") and md["namespace"] != namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        if name is not None and md.get("name") and md["name"] != name:
            raise errors.BadRequest(
                f"the name of the object ({md['name']}) does not match the name on the URL ({name})"
            )
        if name is not None:
            md["name"] = name
        # Already too large to store: refused before the work proportional to its size (managed
        # fields, validation of every list item) that could only end in the same answer.
        self._check_size(info, obj)
        obj = self._field_validation(info, ctx, obj)
        return info.conversion.to_storage(obj) if info.conversion is not None else obj

    def _field_validation(self, info: ResourceInfo, ctx: RequestContext, obj: Obj) -> Obj:
        return info.strategy.decode_fields(obj, info=info, ctx=ctx)

    def _check_size(self, info: ResourceInfo, obj: Obj) -> None:
        try:
            size = len(orjson.dumps(obj))
        except TypeError:  # an integer beyond 64 bits (YAML or embedded JSON can hold one)
            size = len(json.dumps(obj))
        if size > settings.KUBE_MAX_OBJECT_BYTES:
            md = obj.get("metadata", {})
            raise errors.invalid(
                info.kind,
                md.get("name", ""),
                [
                    errors.Cause(
                        "FieldValueTooLong",
                        f"Too long: object is {size} bytes, must have at most {settings.KUBE_MAX_OBJECT_BYTES} bytes",
                        "",
                    )
                ],
                info.group,
            )
