"""ServiceAccount tokens (TokenRequest, `kubectl create token SA`) as HS256-signed JWTs.

The claims are those of upstream's bound service account tokens (`pkg/serviceaccount/claims.go`):

    {"aud": [...], "exp": .., "iat": .., "nbf": .., "iss": ISSUER, "jti": "<uuid>",
     "sub": "system:serviceaccount:<ns>:<name>",
     "kubernetes.io": {"namespace": <ns>, "serviceaccount": {"name": .., "uid": ..},
                       "pod" | "secret" | "node": {"name": .., "uid": ..}},   # when bound to an object
     "kcp.io/cluster": "<logical cluster>"}

plus kcp's cluster claim: a token is only worth anything in the logical cluster that issued it (the caller
treats it as a foreign, anonymous identity elsewhere).

Why HS256 and not upstream's RS256/ES256: issuer and verifier are the same service and share a secret (the
caller derives the key from Django's SECRET_KEY), so an HMAC needs no key pair, no JWKS endpoint and no new
dependency; only the standard library is used. Contracts:

* `issue` is deterministic given its inputs (pass `jti` to pin the one random part) and raises `ValueError`
  for requests the caller should have rejected (expiration out of range, empty names, a weak key);
* `verify` never raises: anything but a well-formed, correctly signed (constant-time comparison), current
  HS256 token from our issuer, for our audience, with the claims above, gives None. Algorithm confusion is
  impossible because the header must say exactly `HS256` (`none` and everything else is refused), and the
  base64url segments must be canonical so a token has exactly one valid spelling.
* Time checks follow go-jose's `Validate` as used upstream: one minute of leeway for exp, nbf and iat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .user import UserInfo

__all__ = [
    "API_AUDIENCES",
    "DEFAULT_EXPIRATION_SECONDS",
    "ISSUER",
    "MAX_EXPIRATION_SECONDS",
    "MIN_EXPIRATION_SECONDS",
    "ServiceAccountClaims",
    "issue",
    "user_info",
    "verify",
]

ISSUER = "https://kcp.local"
#: The audiences this API server accepts (upstream's `--api-audiences`, defaulting to the issuer). A token
#: requested without audiences gets these.
API_AUDIENCES: tuple[str, ...] = (ISSUER,)
MIN_EXPIRATION_SECONDS = 600  # TokenRequest validation: "may not specify a duration less than 10 minutes"
DEFAULT_EXPIRATION_SECONDS = 3600
MAX_EXPIRATION_SECONDS = 1 << 32  # TokenRequest validation: "may not specify a duration larger than 2^32 seconds"
LEEWAY_SECONDS = 60  # go-jose jwt.DefaultLeeway
MIN_KEY_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least 256 bits
MAX_TOKEN_CHARS = 16 * 1024

CLUSTER_CLAIM = "kcp.io/cluster"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
BOUND_KINDS = {"Pod": "pod", "Secret": "secret", "Node": "node"}
_HEADER = {"alg": "HS256", "typ": "JWT"}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

# user.Info extra keys (k8s.io/apiserver/pkg/authentication/serviceaccount and user)
POD_NAME_KEY = "authentication.kubernetes.io/pod-name"
POD_UID_KEY = "authentication.kubernetes.io/pod-uid"
NODE_NAME_KEY = "authentication.kubernetes.io/node-name"
NODE_UID_KEY = "authentication.kubernetes.io/node-uid"
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"


@dataclass(frozen=True)
class ServiceAccountClaims:
    """What a valid token says. `bound_kind` is `Pod`, `Secret` or `Node` (or "" when the token is bound to
    the ServiceAccount only); the caller must check that the ServiceAccount (and bound object) with these
    uids still exist, as upstream does, for the token to die with them."""

    cluster: str
    namespace: str
    name: str
    uid: str
    exp: int
    iat: int = 0
    nbf: int = 0
    audiences: tuple[str, ...] = ()
    jti: str = ""
    bound_kind: str = ""
    bound_name: str = ""
    bound_uid: str = ""

    @property
    def username(self) -> str:
        return f"{SERVICE_ACCOUNT_PREFIX}{self.namespace}:{self.name}"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(segment: str) -> bytes:
    """Strict base64url without padding: alphabet checked, and only the canonical spelling of the bytes is
    accepted (the unused low bits of the last character must be zero), so a token cannot be re-spelled."""
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if _b64encode(data) != segment:
        raise ValueError("non-canonical base64url")
    return data


def _json_segment(obj: Mapping[str, Any]) -> str:
    return _b64encode(json.dumps(obj, separators=(",", ":"), sort_keys=False).encode())


def _sign(signing_input: bytes, key: bytes) -> bytes:
    return hmac.new(key, signing_input, hashlib.sha256).digest()


def issue(
    *,
    cluster: str,
    namespace: str,
    name: str,
    uid: str,
    audiences: list[str],
    expiration_seconds: int = DEFAULT_EXPIRATION_SECONDS,
    now: int,
    key: bytes,
    bound_object: Mapping[str, Any] | None = None,
    issuer: str = ISSUER,
    jti: str | None = None,
) -> tuple[str, int]:
    """Sign a token for ServiceAccount `namespace/name` (uid `uid`) of logical cluster `cluster`.

    Returns the token and its expiry (`now + expiration_seconds`, epoch seconds). An empty `audiences` means
    `API_AUDIENCES`. `bound_object` is a TokenRequest `boundObjectRef` (`{kind: Pod|Secret|Node, name, uid}`).
    `jti` defaults to a random UUID (upstream's ServiceAccountTokenJTI); it becomes the user's credential id.
    Raises `ValueError` when the expiration is outside [600, 2^32] seconds, a name is empty, the bound kind
    is unsupported or the key is shorter than 32 bytes: the caller validates requests (422) before this.
    """
    if not isinstance(expiration_seconds, int) or isinstance(expiration_seconds, bool):
        raise ValueError("expiration_seconds must be an integer")
    if expiration_seconds < MIN_EXPIRATION_SECONDS:
        raise ValueError("may not specify a duration less than 10 minutes")
    if expiration_seconds > MAX_EXPIRATION_SECONDS:
        raise ValueError("may not specify a duration larger than 2^32 seconds")
    if not cluster or not namespace or not name:
        raise ValueError("cluster, namespace and name are required")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the signing key must have at least {MIN_KEY_BYTES} bytes")
    private: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}
    if bound_object is not None:
        kind = bound_object.get("kind")
        if kind not in BOUND_KINDS:
            raise ValueError(f"unsupported bound object kind: {kind!r}")
        private[BOUND_KINDS[kind]] = {
            "name": str(bound_object.get("name") or ""),
            "uid": str(bound_object.get("uid") or ""),
        }
    exp = now + expiration_seconds
    claims: dict[str, Any] = {
        "aud": list(audiences) if audiences else list(API_AUDIENCES),
        "exp": exp,
        "iat": now,
        "iss": issuer,
        "jti": jti if jti is not None else str(uuid.uuid4()),
        "kubernetes.io": private,
        "nbf": now,
        "sub": f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        CLUSTER_CLAIM: cluster,
    }
    signing_input = f"{_json_segment(_HEADER)}.{_json_segment(claims)}"
    signature = _sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{_b64encode(signature)}", exp


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _json_object(segment: str) -> dict[str, Any]:
    value = json.loads(_b64decode(segment).decode("utf-8"), parse_constant=_reject_constant)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _numeric_date(value: Any) -> int:
    """A JWT NumericDate (RFC 7519 §2): a JSON number of seconds; fractions are truncated as go-jose does."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a NumericDate")
    return int(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def verify(
    token: str, *, key: bytes, now: int, issuer: str = ISSUER, audiences: Collection[str] = API_AUDIENCES
) -> ServiceAccountClaims | None:
    """The claims of a valid token, or None; never raises.

    Valid means: three canonical base64url segments; a header with `alg` exactly `HS256` and no `crit`; an
    HMAC-SHA256 signature under `key` (compared in constant time, before any claim is parsed); `iss ==
    issuer`; an `aud` (string or list) sharing an entry with `audiences` (not checked when `audiences` is
    empty, like an apiserver without `--api-audiences`); `nbf - 60 <= now`, `iat - 60 <= now` and
    `now <= exp + 60`; a `sub` equal to `system:serviceaccount:<kubernetes.io.namespace>:<serviceaccount.name>`
    and a non-empty `kcp.io/cluster`.
    """
    try:
        return _verify(token, key=key, now=now, issuer=issuer, audiences=audiences)
    except Exception:  # the contract is "None for anything invalid", whatever the input
        return None


def _verify(
    token: str, *, key: bytes, now: int, issuer: str, audiences: Collection[str]
) -> ServiceAccountClaims | None:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not isinstance(key, bytes | bytearray):
        return None
    if len(key) < MIN_KEY_BYTES:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(header_b64)
    if header.get("alg") != "HS256" or "crit" in header:
        return None
    signature = _b64decode(signature_b64)
    expected = _sign(f"{header_b64}.{payload_b64}".encode("ascii"), bytes(key))
    if not hmac.compare_digest(signature, expected):
        return None
    claims = _json_object(payload_b64)
    if claims.get("iss") != issuer:
        return None
    aud = claims.get("aud")
    if isinstance(aud, str):
        token_audiences: tuple[str, ...] = (aud,)
    elif isinstance(aud, list):
        token_audiences = tuple(_string(a) for a in aud)
    else:
        token_audiences = ()
    if audiences and not set(token_audiences) & set(audiences):
        return None
    exp = _numeric_date(claims.get("exp"))
    nbf = _numeric_date(claims["nbf"]) if "nbf" in claims else 0
    iat = _numeric_date(claims["iat"]) if "iat" in claims else 0
    if now > exp + LEEWAY_SECONDS or now + LEEWAY_SECONDS < nbf or now + LEEWAY_SECONDS < iat:
        return None
    private = claims.get("kubernetes.io")
    if not isinstance(private, dict):
        return None
    namespace = _string(private.get("namespace"))
    sa = private.get("serviceaccount")
    if not isinstance(sa, dict):
        return None
    name, uid = _string(sa.get("name")), _string(sa.get("uid", ""))
    cluster = _string(claims.get(CLUSTER_CLAIM))
    if not namespace or not name or not cluster:
        return None
    if claims.get("sub") != f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}":
        return None
    bound_kind = bound_name = bound_uid = ""
    for kind, claim in BOUND_KINDS.items():
        ref = private.get(claim)
        if isinstance(ref, dict):
            bound_kind, bound_name, bound_uid = kind, _string(ref.get("name", "")), _string(ref.get("uid", ""))
            break
    jti = claims.get("jti", "")
    return ServiceAccountClaims(
        cluster=cluster,
        namespace=namespace,
        name=name,
        uid=uid,
        exp=exp,
        iat=iat,
        nbf=nbf,
        audiences=token_audiences,
        jti=_string(jti),
        bound_kind=bound_kind,
        bound_name=bound_name,
        bound_uid=bound_uid,
    )


def user_info(claims: ServiceAccountClaims) -> UserInfo:
    """The identity a token authenticates as (upstream's `ServiceAccountInfo.UserInfo()` plus the groups the
    authentication chain adds): name `system:serviceaccount:<ns>:<name>`, the ServiceAccount's uid, groups
    `system:serviceaccounts`, `system:serviceaccounts:<ns>`, `system:authenticated` and kcp's
    `system:cluster:<cluster>`; extra `authentication.kubernetes.io/credential-id` = `JTI=<jti>` and, for
    bound tokens, the pod or node name/uid keys."""
    extra: dict[str, list[str]] = {}
    if claims.bound_kind == "Pod" and claims.bound_name and claims.bound_uid:
        extra[POD_NAME_KEY] = [claims.bound_name]
        extra[POD_UID_KEY] = [claims.bound_uid]
    if claims.jti:
        extra[CREDENTIAL_ID_KEY] = [f"JTI={claims.jti}"]
    if claims.bound_kind == "Node" and claims.bound_name:
        extra[NODE_NAME_KEY] = [claims.bound_name]
        if claims.bound_uid:
            extra[NODE_UID_KEY] = [claims.bound_uid]
    groups = (
        "system:serviceaccounts",
        f"system:serviceaccounts:{claims.namespace}",
        "system:authenticated",
        f"system:cluster:{claims.cluster}",
    )
    return UserInfo(name=claims.username, uid=claims.uid, groups=groups, extra=extra)
