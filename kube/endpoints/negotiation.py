"""Content negotiation: request bodies in JSON, YAML or Kubernetes protobuf; responses always
JSON (clients decode by the response Content-Type), as a Table when kubectl asks for one."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer

from kube import errors

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


def decode_body(body: bytes, content_type: str) -> Any:
    """Decode a request body; an empty Content-Type means JSON (the Python client sends none)."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media == PROTOBUF:
        from .protobuf import decode

        return decode(body)
    if not body.strip():
        raise errors.BadRequest("the request body is empty")
    if media in ("application/yaml", "application/apply-patch+yaml", "text/yaml", "application/x-yaml"):
        return _yaml(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        if media == "application/json" or media.endswith("+json"):
            raise errors.BadRequest(f"the body of the request could not be decoded as JSON: {e}") from None
        return _yaml(body)


def _yaml(body: bytes) -> Any:
    try:
        docs = list(yaml.safe_load_all(body))
    except yaml.YAMLError as e:
        raise errors.BadRequest(f"error converting YAML to JSON: {e}") from None
    except RecursionError:
        raise errors.BadRequest("the request body is nested too deeply") from None
    docs = [d for d in docs if d is not None]
    if len(docs) != 1:
        raise errors.BadRequest("the request body must contain exactly one YAML document")
    # Round-trip through JSON so YAML-only types (dates, sets) become JSON values or fail clearly.
    try:
        return orjson.loads(orjson.dumps(docs[0], default=str))
    except (TypeError, orjson.JSONEncodeError) as e:
        raise errors.BadRequest(f"error converting YAML to JSON: {e}") from None
