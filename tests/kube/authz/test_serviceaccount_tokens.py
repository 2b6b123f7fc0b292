"""ServiceAccount tokens (kube.authz.serviceaccount_tokens): issue/verify round trips, expiry, tampering,
algorithm confusion, other keys and garbage. Pure: no database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from kube.authz.serviceaccount_tokens import (
    API_AUDIENCES,
    ISSUER,
    ServiceAccountClaims,
    issue,
    user_info,
    verify,
)

KEY = hashlib.sha256(b"test key").digest()
NOW = 1_700_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def make(**kw: Any) -> tuple[str, int]:
    args: dict[str, Any] = {"cluster": "2x7k9", "namespace": "default", "name": "robot", "uid": "uid-1",
                            "audiences": [], "expiration_seconds": 3600, "now": NOW, "key": KEY, "jti": "jti-1"}
    args.update(kw)
    return issue(**args)


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    h, p, s = token.split(".")
    return json.loads(unb64(h)), json.loads(unb64(p)), s


def forge(header: dict[str, Any], payload: dict[str, Any], key: bytes = KEY, alg: str = "sha256") -> str:
    """A token signed over arbitrary header and payload (HMAC with `key`)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    sig = hmac.new(key, signing_input.encode(), alg).digest()
    return f"{signing_input}.{b64(sig)}"


# --- round trip --------------------------------------------------------------------------------------------


def test_round_trip() -> None:
    token, exp = make()
    assert exp == NOW + 3600
    assert verify(token, key=KEY, now=NOW) == ServiceAccountClaims(
        cluster="2x7k9", namespace="default", name="robot", uid="uid-1", exp=NOW + 3600, iat=NOW, nbf=NOW,
        audiences=API_AUDIENCES, jti="jti-1")


def test_claims_follow_upstream_projected_tokens() -> None:
    token, _ = make(audiences=["vault", ISSUER])
    header, payload, _ = parts(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert payload == {
        "aud": ["vault", ISSUER],
        "exp": NOW + 3600,
        "iat": NOW,
        "iss": ISSUER,
        "jti": "jti-1",
        "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "robot", "uid": "uid-1"}},
        "nbf": NOW,
        "sub": "system:serviceaccount:default:robot",
        "kcp.io/cluster": "2x7k9",
    }
    assert token.count(".") == 2 and "=" not in token


def test_issue_is_deterministic_except_for_a_random_jti() -> None:
    assert make() == make()
    t1, _ = issue(cluster="c", namespace="n", name="s", uid="u", audiences=[], now=NOW, key=KEY)
    t2, _ = issue(cluster="c", namespace="n", name="s", uid="u", audiences=[], now=NOW, key=KEY)
    assert t1 != t2  # jti is a fresh UUID
    c1, c2 = verify(t1, key=KEY, now=NOW), verify(t2, key=KEY, now=NOW)
    assert c1 and c2 and c1.jti != c2.jti and len(c1.jti) == 36
    assert c1.exp == NOW + 3600  # the default expiration


def test_bound_object_claims() -> None:
    token, _ = make(bound_object={"kind": "Pod", "apiVersion": "v1", "name": "web-0", "uid": "pod-uid"})
    assert parts(token)[1]["kubernetes.io"]["pod"] == {"name": "web-0", "uid": "pod-uid"}
    claims = verify(token, key=KEY, now=NOW)
    assert claims and (claims.bound_kind, claims.bound_name, claims.bound_uid) == ("Pod", "web-0", "pod-uid")
    secret, _ = make(bound_object={"kind": "Secret", "name": "s", "uid": "su"})
    assert parts(secret)[1]["kubernetes.io"]["secret"] == {"name": "s", "uid": "su"}
    with pytest.raises(ValueError, match="unsupported bound object kind"):
        make(bound_object={"kind": "ConfigMap", "name": "c"})


# --- issue's preconditions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kw", "message"), [
    ({"expiration_seconds": 599}, "less than 10 minutes"),
    ({"expiration_seconds": (1 << 32) + 1}, "larger than 2\\^32"),
    ({"expiration_seconds": True}, "integer"),
    ({"namespace": ""}, "required"),
    ({"name": ""}, "required"),
    ({"cluster": ""}, "required"),
    ({"key": b"short"}, "at least 32 bytes"),
])
def test_issue_rejects(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kw)


def test_minimum_expiration_is_ten_minutes() -> None:
    token, exp = make(expiration_seconds=600)
    assert exp == NOW + 600 and verify(token, key=KEY, now=NOW + 600) is not None


# --- time --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "valid"), [
    (NOW, True),
    (NOW + 3600, True),
    (NOW + 3600 + 60, True),  # go-jose's one minute of leeway
    (NOW + 3600 + 61, False),
    (NOW - 60, True),
    (NOW - 61, False),  # not valid yet / issued in the future
])
def test_expiry_and_not_before(now: int, valid: bool) -> None:
    token, _ = make()
    assert (verify(token, key=KEY, now=now) is not None) is valid


# --- tampering, algorithms, keys ---------------------------------------------------------------------------


def test_other_key_is_rejected() -> None:
    token, _ = make()
    assert verify(token, key=hashlib.sha256(b"other").digest(), now=NOW) is None
    assert verify(token, key=KEY[:16], now=NOW) is None  # too short to be ours, never an error


def test_tampered_payload_is_rejected() -> None:
    token, _ = make()
    header, payload, sig = token.split(".")
    claims = json.loads(unb64(payload))
    for change in ({"kcp.io/cluster": "other"}, {"exp": NOW + 10**6}, {"sub": "system:serviceaccount:kube:admin"},
                   {"kubernetes.io": {"namespace": "kube", "serviceaccount": {"name": "robot", "uid": "uid-1"}}}):
        forged = f"{header}.{b64(json.dumps({**claims, **change}).encode())}.{sig}"
        assert verify(forged, key=KEY, now=NOW) is None, change


def test_every_single_character_change_is_rejected() -> None:
    token, _ = make()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(token):
        if ch == ".":
            continue
        other = alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
        assert verify(token[:i] + other + token[i + 1:], key=KEY, now=NOW) is None, i


def test_alg_none_and_other_algorithms_are_rejected() -> None:
    token, _ = make()
    header, payload, sig = token.split(".")
    _, claims, _ = parts(token)
    none_header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    assert verify(f"{none_header}.{payload}.", key=KEY, now=NOW) is None
    assert verify(f"{none_header}.{payload}.{sig}", key=KEY, now=NOW) is None
    for alg in ("None", "NONE", "HS384", "HS512", "RS256", "hs256", ""):
        assert verify(forge({"alg": alg}, claims), key=KEY, now=NOW) is None, alg
    assert verify(forge({"alg": "HS512"}, claims, alg="sha512"), key=KEY, now=NOW) is None
    assert verify(forge({"typ": "JWT"}, claims), key=KEY, now=NOW) is None  # no alg at all
    assert verify(forge({"alg": "HS256", "crit": ["exp"]}, claims), key=KEY, now=NOW) is None
    # the same claims, correctly signed with a minimal header, are fine
    assert verify(forge({"alg": "HS256"}, claims), key=KEY, now=NOW) is not None


def test_issuer_and_audience_are_checked() -> None:
    token, _ = make()
    assert verify(token, key=KEY, now=NOW, issuer="https://elsewhere") is None
    other_iss, _ = make(issuer="https://elsewhere")
    assert verify(other_iss, key=KEY, now=NOW) is None
    assert verify(other_iss, key=KEY, now=NOW, issuer="https://elsewhere") is not None
    vault, _ = make(audiences=["vault"])  # requested for someone else: not an API credential
    assert verify(vault, key=KEY, now=NOW) is None
    assert verify(vault, key=KEY, now=NOW, audiences=["vault", "x"]) is not None
    assert verify(vault, key=KEY, now=NOW, audiences=()) is not None  # no API audiences configured
    _, claims, _ = parts(token)
    assert verify(forge({"alg": "HS256"}, {**claims, "aud": ISSUER}), key=KEY, now=NOW) is not None  # a string aud
    assert verify(forge({"alg": "HS256"}, {**claims, "aud": [1]}), key=KEY, now=NOW) is None


@pytest.mark.parametrize("change", [
    {"exp": "soon"}, {"exp": True}, {"exp": None}, {"nbf": "x"}, {"iat": [1]},
    {"sub": "system:serviceaccount:default:other"}, {"sub": None},
    {"kcp.io/cluster": ""}, {"kcp.io/cluster": 7}, {"kubernetes.io": None}, {"kubernetes.io": {"namespace": "default"}},
    {"kubernetes.io": {"namespace": "", "serviceaccount": {"name": "robot"}}},
    {"kubernetes.io": {"namespace": "default", "serviceaccount": {"name": ["robot"]}}},
])
def test_well_signed_but_malformed_claims_are_rejected(change: dict[str, Any]) -> None:
    _, claims, _ = parts(make()[0])
    assert verify(forge({"alg": "HS256"}, {**claims, **change}), key=KEY, now=NOW) is None


def test_claims_without_optional_fields() -> None:
    _, claims, _ = parts(make()[0])
    for key in ("nbf", "iat", "jti"):
        claims.pop(key)
    claims["kubernetes.io"]["serviceaccount"].pop("uid")
    parsed = verify(forge({"alg": "HS256"}, claims), key=KEY, now=NOW)
    assert parsed and (parsed.uid, parsed.jti, parsed.iat, parsed.nbf) == ("", "", 0, 0)


GARBAGE: list[Any] = [
    "", ".", "..", "...", "a.b.c", "a.b", "a.b.c.d", "not a token", "ey.ey.ey", "\u00e9.\u00e9.\u00e9",
    "\x00.\x00.\x00",
    "e30.e30.", "e30.e30.e30",  # {} . {} . garbage
    b64(b"[]") + "." + b64(b"[]") + ".", b64(b'"HS256"') + ".x.y", None, 42, b"a.b.c", ["a", "b"],
    "A" * 100_000, ".".join(["eyJhbGciOiJIUzI1NiJ9"] * 3), "eyJhbGciOiJIUzI1NiJ9=.e30.e30",
    b64(b'{"alg":"HS256"}') + "." + b64(b"[" * 100_000) + ".x",
]


@pytest.mark.parametrize("token", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(token: Any) -> None:
    assert verify(token, key=KEY, now=NOW) is None


def test_garbage_with_a_valid_signature_never_raises() -> None:
    for payload in (b"[" * 50_000, b"not json", b"\xff\xfe", b'{"exp": NaN}', b'{"exp": 1e999}', b"1" * 5000):
        header = b64(b'{"alg":"HS256"}')
        signing_input = f"{header}.{b64(payload)}"
        sig = hmac.new(KEY, signing_input.encode(), "sha256").digest()
        assert verify(f"{signing_input}.{b64(sig)}", key=KEY, now=NOW) is None


def test_non_canonical_base64_is_rejected() -> None:
    """A 32-byte signature is 43 base64url characters whose last one carries 2 unused bits: a token must not
    have a second spelling that decodes to the same bytes."""
    token, _ = make()
    signing_input, sig = token.rsplit(".", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    sibling = alphabet[last ^ 1]  # differs only in an unused bit
    assert unb64(sig[:-1] + sibling) == unb64(sig)
    assert verify(f"{signing_input}.{sig[:-1] + sibling}", key=KEY, now=NOW) is None
    assert verify(f"{signing_input}.{sig}=", key=KEY, now=NOW) is None  # padding


# --- identity ----------------------------------------------------------------------------------------------


def test_user_info() -> None:
    claims = verify(make()[0], key=KEY, now=NOW)
    assert claims is not None
    info = user_info(claims)
    assert info.name == "system:serviceaccount:default:robot"
    assert info.uid == "uid-1"
    assert info.groups == ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated",
                           "system:cluster:2x7k9")
    assert info.extra == {"authentication.kubernetes.io/credential-id": ["JTI=jti-1"]}
    assert not info.is_admin


def test_user_info_of_bound_tokens() -> None:
    pod = verify(make(bound_object={"kind": "Pod", "name": "web-0", "uid": "p1"}, jti="")[0], key=KEY, now=NOW)
    assert pod is not None and user_info(pod).extra == {
        "authentication.kubernetes.io/pod-name": ["web-0"], "authentication.kubernetes.io/pod-uid": ["p1"]}
    node = verify(make(bound_object={"kind": "Node", "name": "n1", "uid": "u"})[0], key=KEY, now=NOW)
    assert node is not None and user_info(node).extra == {
        "authentication.kubernetes.io/credential-id": ["JTI=jti-1"],
        "authentication.kubernetes.io/node-name": ["n1"], "authentication.kubernetes.io/node-uid": ["u"]}
    secret = verify(make(bound_object={"kind": "Secret", "name": "s", "uid": "u"}, jti="")[0], key=KEY, now=NOW)
    assert secret is not None and user_info(secret).extra == {}
