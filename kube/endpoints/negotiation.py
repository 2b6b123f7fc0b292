"""Content negotiation: request bodies in JSON, YAML or Kubernetes protobuf; responses always
JSON (clients decode by the response Content-Type), as a Table when kubectl asks for one."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer

from kube import errors
from kube.decoding import json_decode, reject_nul_in_document, yaml_decode

from .protobuf import decode as decode_protobuf

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
AGGREGATED_DISCOVERY_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
PROTOBUF = "application/vnd.kubernetes.protobuf"


class KubeJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return orjson.dumps(data)


class KubeContentNegotiation(BaseContentNegotiation):
    """The only renderer is JSON; never 406."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return None

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


def _media_params(value: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for part in value.split(","):
        pieces = [p.strip() for p in part.split(";")]
        params = {}
        for p in pieces[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip()
        out.append((pieces[0].lower(), params))
    return out


def wants_table(accept: str) -> bool:
    for media, params in _media_params(accept):
        if media == "application/json" and params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return True
        if media == "application/json" and params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return False
    return False


def wants_aggregated_discovery(accept: str) -> bool:
    for media, params in _media_params(accept):
        if (
            media == "application/json"
            and params.get("g") == "apidiscovery.k8s.io"
            and params.get("as") == "APIGroupDiscoveryList"
            and params.get("v") == "v2"
        ):
            return True
    return False


#: The media types a create, update or delete body may have (what the apiserver decodes; a missing
#: Content-Type is JSON, as client-go and the Python client send it). Patches have their own types.
BODY_MEDIA_TYPES = ("application/json", "application/yaml", PROTOBUF)


def media_type(content_type: str) -> str:
    """The bare, lower-case media type of a Content-Type header (`""` when there is none)."""
    return (content_type or "").split(";")[0].strip().lower()


def decode_body(body: bytes, content_type: str) -> Any:
    """Decode a create, update or delete body by its Content-Type: JSON (also when the header is
    missing), YAML or Kubernetes protobuf; any other type is 415 UnsupportedMediaType, as the
    apiserver answers. Malformed bodies, and text holding NUL, are 400 (kube.decoding)."""
    media = media_type(content_type) or "application/json"
    if media not in BODY_MEDIA_TYPES:
        raise errors.UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(BODY_MEDIA_TYPES),
        )
    if media == PROTOBUF:
        return reject_nul_in_document(decode_protobuf(body))
    if not body.strip():
        raise errors.BadRequest("the request body is empty")
    if media == "application/yaml":
        return yaml_decode(body)
    return json_decode(body)
