"""`kubectl kcp` (console script `kubectl-kcp`): binding APIExports and answering their permission claims.

    kubectl kcp bind apiexport <path>:<export> [--name N] [--timeout 30s]
        [--accept-permission-claim resource[.group],...] [--reject-permission-claim ...]
        [--accept-all-permission-claims | --reject-all-permission-claims]
    kubectl kcp claims get apibinding [<name>]
    kubectl kcp claims accept|reject <binding> --resource=<resource[.group]> [--identity-hash H]
    kubectl kcp shard cordon|uncordon <shard>
    kubectl kcp ws|workspace|workspaces ...          (= kubectl ws ..., see kubectl_kcp.ws)

`bind apiexport` creates an APIBinding (apis.kcp.io/v1alpha2) named after the export (or `--name`)
in the current workspace (the kubeconfig's server `<base>/clusters/<path>`) and waits until its
`status.phase` is `Bound` (reference/kcp.md §7):

    apibinding <name> created. Waiting to successfully bind ...
    <name> created and bound.

Permission claims (reference/kcp.md §4.4) are written into `spec.permissionClaims` as `{group,
resource, identityHash, verbs, selector: {matchAll: true}, state}`. `configmaps` and `configmaps.`
name the core group, `widgets.example.com` resource `widgets` of group `example.com`. The export's
claims (their identity hashes and verbs) are read from the APIExport when the user may read it;
otherwise named claims are written with verbs `["*"]` (the server grants the export's verbs) and,
once the binding is Bound, corrected from the binding's `status.exportPermissionClaims`, which is
also where the `--*-all-permission-claims` flags then learn what to answer. Exported claims left
unanswered are reported on stderr, as kcp's plugin does.

`shard cordon|uncordon` sets or removes kcp's `experimental.core.kcp.io/unschedulable` annotation
on the Shard in root (its presence cordons; clients may write nothing else on a Shard but its
resource limits); the shard acknowledges with its `Schedulable` condition:

    shard/<name> cordoned            shard/<name> already cordoned
    shard/<name> uncordoned          shard/<name> already uncordoned

Not implemented: `kubectl kcp crd snapshot`, `quickstart` and `completion`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from . import ws as ws_plugin
from .kubeconfig import (
    ApiError,
    Obj,
    PluginError,
    Session,
    add_connection_flags,
    quote,
    run_plugin,
)

API = "/apis/apis.kcp.io/v1alpha2"
API_VERSION = "apis.kcp.io/v1alpha2"
BIND_TIMEOUT = 30.0
POLL_INTERVAL = 0.5
UPDATE_ATTEMPTS = 5
ACCEPTED, REJECTED = "Accepted", "Rejected"
WS_COMMANDS = ("ws", "workspace", "workspaces")
UNSUPPORTED = ("crd", "quickstart", "completion")
BINDING_TYPES = ("apibinding", "apibindings", "apibinding.apis.kcp.io", "apibindings.apis.kcp.io")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
RESOURCE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SHARDS = "/clusters/root/apis/core.kcp.io/v1alpha1/shards"
CORDON_ANNOTATION = "experimental.core.kcp.io/unschedulable"


class Api(Protocol):
    """What the commands need of a client: `kubectl_kcp.kubeconfig.Client` (or a test double)."""

    def request(self, method: str, path: str, body: Obj | None = None) -> Obj: ...


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float:
    """A Go duration (`30s`, `1m30s`, `1.5h`, `500ms`, `0`) in seconds; ValueError in Go's words otherwise."""
    text = value.strip()
    if text == "0":
        return 0.0
    if text.startswith("-"):
        raise ValueError(f"time: negative duration {quote(value)}")
    text = text.removeprefix("+")
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"time: invalid duration {quote(value)}")
    return total


def format_duration(seconds: float) -> str:
    """Seconds the way Go prints a duration: `30s`, `1m30s`, `1h0m0s`, `500ms`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:g}s"
    if hours or minutes:
        text = f"{int(minutes)}m" + text
    if hours:
        text = f"{int(hours)}h" + text
    return text


@dataclass(frozen=True)
class ClaimRef:
    """A claimed group-resource as the flags name it: `configmaps` (core) or `widgets.example.com`."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


def parse_claim(value: str) -> ClaimRef:
    """`resource[.group]` → ClaimRef; the resource ends at the first dot (`configmaps.` is the core group)."""
    text = value.strip()
    resource, _, group = text.partition(".")
    if not RESOURCE.fullmatch(resource) or (group and not DNS_SUBDOMAIN.fullmatch(group)):
        raise PluginError(f"invalid permission claim {quote(value)}: expected <resource>[.<group>], e.g. configmaps")
    return ClaimRef(group, resource)


def parse_claims(values: Sequence[str]) -> list[ClaimRef]:
    """Repeatable, comma-separated claim flags → distinct ClaimRefs in the order given."""
    refs: list[ClaimRef] = []
    for value in values:
        for item in value.split(","):
            ref = parse_claim(item)
            if ref not in refs:
                refs.append(ref)
    return refs


def claim_ref(claim: Obj) -> ClaimRef:
    return ClaimRef(str(claim.get("group") or ""), str(claim.get("resource") or ""))


def parse_export_reference(reference: str) -> tuple[str, str]:
    """`root:org:ws:export` → (`root:org:ws`, `export`); a leading `:` (absolute, as in `kubectl ws`) is allowed.

    The workspace path is required: kcp's plugin binds fully qualified references only."""
    text = reference[1:] if reference.startswith(":") else reference
    path, sep, name = text.rpartition(":")
    if not sep or not ws_plugin.is_valid_path(path) or not DNS_SUBDOMAIN.fullmatch(name) or len(name) > 253:
        raise PluginError(
            f"fully qualified reference to the workspace where the APIExport exists is required, "
            f"got {quote(reference)}. The format is `<workspace path>:<apiexport name>`, e.g. root:org:ws:my-export"
        )
    return path, name


@dataclass
class ClaimChoices:
    """What the flags answer: named claims (accepted or rejected) and a default for all the others."""

    accept: list[ClaimRef] = field(default_factory=list)
    reject: list[ClaimRef] = field(default_factory=list)
    accept_all: bool = False
    reject_all: bool = False

    def validate(self) -> None:
        if self.accept_all and self.reject_all:
            raise PluginError(
                "--accept-all-permission-claims and --reject-all-permission-claims are mutually exclusive"
            )
        both = [str(ref) for ref in self.accept if ref in self.reject]
        if both:
            raise PluginError(f"permission claim {quote(both[0])} cannot be both accepted and rejected")

    def named(self) -> dict[ClaimRef, str]:
        return {**{ref: ACCEPTED for ref in self.accept}, **{ref: REJECTED for ref in self.reject}}

    def default(self) -> str | None:
        return ACCEPTED if self.accept_all else REJECTED if self.reject_all else None

    def any(self) -> bool:
        return bool(self.accept or self.reject or self.accept_all or self.reject_all)


# --------------------------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------------------------


def binding_claim(ref: ClaimRef, state: str, exported: Obj | None) -> Obj:
    """A `spec.permissionClaims` entry answering `ref`: the export's identity hash and verbs when
    its claim `exported` is known, else verbs `["*"]` (the server grants what the export claims)."""
    claim: Obj = {"group": ref.group, "resource": ref.resource}
    if exported and exported.get("identityHash"):
        claim["identityHash"] = str(exported["identityHash"])
    verbs = [str(v) for v in (exported or {}).get("verbs") or []]
    claim["verbs"] = verbs or ["*"]
    claim["selector"] = {"matchAll": True}
    claim["state"] = state
    return claim


def unanswered_warning(export: str, binding: str, claim: Obj) -> str:
    ref = claim_ref(claim)
    verbs = ",".join(str(v) for v in claim.get("verbs") or []) or "none"
    return (
        f"APIExport {quote(export)} claims {quote(str(ref))} (verbs {verbs}), which apibinding {binding} "
        f"neither accepts nor rejects: answer it with --accept-permission-claim={ref} or "
        f"--reject-permission-claim={ref}, or later with 'kubectl kcp claims accept|reject {binding} --resource={ref}'"
    )


def plan_claims(
    choices: ClaimChoices, exported: list[Obj] | None, *, export: str, binding: str, strict: bool = True
) -> tuple[list[Obj], list[str]]:
    """(`spec.permissionClaims`, warnings) for the flags given the export's claims.

    `exported` None means the export's claims are unknown: named claims are written with verbs
    `["*"]` and the `--*-all` flags have nothing to answer yet. A named claim the export does not
    make is an error when `strict`, else a warning (it is kept: the server reports it invalid)."""
    named = choices.named()
    if exported is None:
        return [binding_claim(ref, state, None) for ref, state in named.items()], []
    claims: list[Obj] = []
    warnings: list[str] = []
    for ref, state in named.items():
        offered = [c for c in exported if claim_ref(c) == ref]
        if not offered:
            message = f"APIExport {quote(export)} does not claim {quote(str(ref))}"
            known = ", ".join(str(claim_ref(c)) for c in exported)
            message += f" (its claims: {known})" if known else " (it makes no permission claims)"
            if strict:
                raise PluginError(message)
            warnings.append(message)
            claims.append(binding_claim(ref, state, None))
            continue
        claims.extend(binding_claim(ref, state, c) for c in offered)
    default = choices.default()
    for c in exported:
        if claim_ref(c) in named:
            continue
        if default:
            claims.append(binding_claim(claim_ref(c), default, c))
        else:
            warnings.append(unanswered_warning(export, binding, c))
    return claims, warnings


def binding_body(name: str, path: str, export: str, claims: list[Obj]) -> Obj:
    """The APIBinding `bind apiexport` creates."""
    spec: Obj = {"reference": {"export": {"path": path, "name": export}}}
    if claims:
        spec["permissionClaims"] = claims
    return {"apiVersion": API_VERSION, "kind": "APIBinding", "metadata": {"name": name}, "spec": spec}


def bindings_url(workspace: str, name: str = "") -> str:
    return f"/clusters/{workspace}{API}/apibindings" + (f"/{name}" if name else "")


def export_url(path: str, name: str) -> str:
    return f"/clusters/{path}{API}/apiexports/{name}"


def _field(obj: Obj, *keys: str) -> object:
    value: object = obj
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _dicts_at(obj: Obj, *keys: str) -> list[Obj] | None:
    """The mappings of the list at `keys` (claims, conditions), or None when there is no list."""
    value = _field(obj, *keys)
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else None


def read_export_claims(client: Api, path: str, name: str) -> list[Obj] | None:
    """The APIExport's `spec.permissionClaims`, or None when the user may not read it (403) or it is not there (404)."""
    try:
        export = client.request("GET", export_url(path, name))
    except ApiError as e:
        if e.status in (403, 404):
            return None
        raise
    return _dicts_at(export, "spec", "permissionClaims") or []


# --------------------------------------------------------------------------------------------
# bind apiexport
# --------------------------------------------------------------------------------------------


def condition_messages(binding: Obj) -> list[str]:
    """`Type: message` of the binding's conditions that are not True (kcp's reasons for not binding)."""
    out: list[str] = []
    for c in _dicts_at(binding, "status", "conditions") or []:
        if c.get("status") != "True":
            text = str(c.get("message") or c.get("reason") or "")
            line = f"{c.get('type')}: {text}" if text else str(c.get("type"))
            if line not in out:
                out.append(line)
    return out


def wait_bound(
    client: Api,
    url: str,
    name: str,
    timeout: float,
    *,
    poll_interval: float = POLL_INTERVAL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Obj:
    """GET the binding every `poll_interval` s until `status.phase` is Bound; PluginError naming the
    binding, its phase and its conditions' messages when `timeout` s pass first."""
    deadline = clock() + timeout
    while True:
        binding = client.request("GET", url)
        phase = str(_field(binding, "status", "phase") or "")
        if phase == "Bound":
            return binding
        if clock() + poll_interval > deadline:
            reasons = condition_messages(binding)
            raise PluginError(
                f"could not bind {name}: not bound within {format_duration(timeout)} "
                f"(phase {quote(phase)}): " + ("; ".join(reasons) if reasons else "no conditions reported yet")
            )
        sleep(poll_interval)


def update_binding(client: Api, url: str, mutate: Callable[[Obj], bool], attempts: int = UPDATE_ATTEMPTS) -> Obj:
    """GET the object (a binding, a shard), let `mutate` change it (it returns whether it did), PUT it back; retried on
    409 Conflict (someone else wrote in between). Returns the binding as stored."""
    for attempt in range(attempts):
        binding = client.request("GET", url)
        if not mutate(binding):
            return binding
        try:
            return client.request("PUT", url, binding)
        except ApiError as e:
            if e.status != 409 or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def bind_apiexport(
    client: Api,
    current: str,
    reference: str,
    out: TextIO,
    err: TextIO,
    *,
    name: str | None = None,
    timeout: float = BIND_TIMEOUT,
    choices: ClaimChoices | None = None,
    poll_interval: float = POLL_INTERVAL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Obj:
    """`kubectl kcp bind apiexport REFERENCE` in workspace `current`; returns the Bound binding."""
    path, export = parse_export_reference(reference)
    choices = choices or ClaimChoices()
    choices.validate()
    name = name or export
    qualified = f"{path}:{export}"
    exported = read_export_claims(client, path, export)
    claims, warnings = plan_claims(choices, exported, export=qualified, binding=name)
    url = bindings_url(current, name)
    client.request("POST", bindings_url(current), binding_body(name, path, export, claims))
    out.write(f"apibinding {name} created. Waiting to successfully bind ...\n")
    out.flush()
    binding = wait_bound(client, url, name, timeout, poll_interval=poll_interval, sleep=sleep, clock=clock)
    if exported is None:
        # The claims the export makes are now in the binding's status: answer the flags with them.
        offered = _dicts_at(binding, "status", "exportPermissionClaims") or []
        if choices.any() or offered:
            claims, warnings = plan_claims(choices, offered, export=qualified, binding=name, strict=False)

            def answer(current_binding: Obj) -> bool:
                spec = current_binding.setdefault("spec", {})
                if (spec.get("permissionClaims") or []) == claims:
                    return False
                if claims:
                    spec["permissionClaims"] = claims
                else:
                    spec.pop("permissionClaims", None)
                return True

            binding = update_binding(client, url, answer)
    for warning in warnings:
        err.write(f"Warning: {warning}\n")
    out.write(f"{name} created and bound.\n")
    return binding


# --------------------------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------------------------


def _key(claim: Obj) -> tuple[str, str, str]:
    return (str(claim.get("group") or ""), str(claim.get("resource") or ""), str(claim.get("identityHash") or ""))


def claim_rows(binding: Obj) -> list[list[str]]:
    """Rows `[binding, resource, state, verbs]`: the binding's answers (`spec.permissionClaims`),
    then the export's claims it has not answered yet (state `Pending`). An answer to a claim the
    export does not make (per `status.exportPermissionClaims`) is marked `(not claimed)`."""
    name = str(_field(binding, "metadata", "name") or "")
    answered = _dicts_at(binding, "spec", "permissionClaims") or []
    exported = _dicts_at(binding, "status", "exportPermissionClaims")
    exported_keys = {_key(c) for c in exported or []}
    rows: list[list[str]] = []
    for c in answered:
        state = str(c.get("state") or "")
        if exported is not None and _key(c) not in exported_keys:
            state += " (not claimed)"
        rows.append([name, str(claim_ref(c)), state, ",".join(str(v) for v in c.get("verbs") or [])])
    answered_keys = {_key(c) for c in answered}
    for c in exported or []:
        if _key(c) not in answered_keys:
            rows.append([name, str(claim_ref(c)), "Pending", ",".join(str(v) for v in c.get("verbs") or [])])
    return rows


def claims_table(bindings: list[Obj]) -> list[str]:
    rows = [row for b in bindings for row in claim_rows(b)]
    if not rows:
        return []
    return ws_plugin.align_columns(["\t".join(r) for r in [["APIBINDING", "RESOURCE", "STATE", "VERBS"], *rows]], 3)


def get_claims(client: Api, current: str, out: TextIO, err: TextIO, name: str | None = None) -> None:
    """`kubectl kcp claims get apibinding [NAME]`: the permission claims of one or every binding."""
    if name:
        bindings = [client.request("GET", bindings_url(current, name))]
    else:
        items = client.request("GET", bindings_url(current)).get("items") or []
        bindings = [b for b in items if isinstance(b, dict)]
    lines = claims_table(bindings)
    if not lines:
        err.write("No permission claims found.\n" if bindings else "No apibindings found.\n")
        return
    out.write("\n".join(lines) + "\n")


def set_claim_state(
    client: Api,
    current: str,
    binding_name: str,
    ref: ClaimRef,
    state: str,
    out: TextIO,
    *,
    identity_hash: str | None = None,
) -> Obj:
    """`kubectl kcp claims accept|reject BINDING --resource=REF`: set the state of the binding's
    answer to claim REF, adding the answer from the export's claim (from `status.exportPermissionClaims`,
    else the APIExport itself) when the binding has none yet."""

    def matches(claim: Obj) -> bool:
        return claim_ref(claim) == ref and (identity_hash is None or claim.get("identityHash", "") == identity_hash)

    def mutate(binding: Obj) -> bool:
        spec = binding.setdefault("spec", {})
        answers = [c for c in spec.get("permissionClaims") or [] if isinstance(c, dict)]
        mine = [c for c in answers if matches(c)]
        if mine:
            changed = any(c.get("state") != state for c in mine)
            for c in mine:
                c["state"] = state
            spec["permissionClaims"] = answers
            return changed
        offered = [c for c in _dicts_at(binding, "status", "exportPermissionClaims") or [] if matches(c)]
        if not offered:
            ref_export = _field(spec, "reference", "export")
            export = ref_export if isinstance(ref_export, dict) else {}
            path, export_name = str(export.get("path") or current), str(export.get("name") or "")
            offered = [c for c in read_export_claims(client, path, export_name) or [] if matches(c)]
        if not offered:
            raise PluginError(
                f"apibinding {binding_name} has no permission claim {quote(str(ref))}"
                + (f" with identity hash {quote(identity_hash)}" if identity_hash else "")
                + " (see 'kubectl kcp claims get apibinding')"
            )
        spec["permissionClaims"] = answers + [binding_claim(ref, state, c) for c in offered]
        return True

    binding = update_binding(client, bindings_url(current, binding_name), mutate)
    out.write(f"apibinding {binding_name}: permission claim {ref} {state.lower()}.\n")
    return binding


def set_cordon(client: Api, name: str, cordon: bool, out: TextIO) -> Obj:
    """`kubectl kcp shard cordon|uncordon NAME`: the cordon annotation set or removed on the Shard
    in root (GET, PUT with its resourceVersion, retried on conflict); nothing is written when it
    already is as asked."""
    changed = False

    def mutate(shard: Obj) -> bool:
        nonlocal changed
        md = shard.setdefault("metadata", {})
        annotations = md.get("annotations") if isinstance(md.get("annotations"), dict) else {}
        if (CORDON_ANNOTATION in annotations) == cordon:
            return False
        if cordon:
            annotations[CORDON_ANNOTATION] = "true"
        else:
            annotations.pop(CORDON_ANNOTATION)
        md["annotations"] = annotations
        changed = True
        return True

    shard = update_binding(client, f"{SHARDS}/{name}", mutate)
    word = "cordoned" if cordon else "uncordoned"
    out.write(f"shard/{name} {word}\n" if changed else f"shard/{name} already {word}\n")
    return shard


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _duration_arg(value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl kcp",
        description="kcp's kubectl plugin: bind APIExports, answer permission claims, manage workspaces.",
        epilog="'kubectl kcp ws|workspace|workspaces ...' is 'kubectl ws ...' (see 'kubectl ws --help').",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", metavar="{bind,claims,shard,ws,workspace}", required=True)

    bind = commands.add_parser("bind", help="Bind different types into the current workspace.", allow_abbrev=False)
    bind_kinds = bind.add_subparsers(dest="kind", metavar="{apiexport}", required=True)
    apiexport = bind_kinds.add_parser(
        "apiexport",
        help="Bind to an APIExport",
        description="Create an APIBinding to the APIExport <workspace path>:<apiexport name> in the current "
        "workspace and wait for it to be bound.",
        allow_abbrev=False,
    )
    add_connection_flags(apiexport)
    apiexport.add_argument("reference", metavar="<workspace-path>:<apiexport-name>")
    apiexport.add_argument("--name", help="Name of the APIBinding to create (default: the APIExport's name)")
    apiexport.add_argument(
        "--timeout", type=_duration_arg, default=BIND_TIMEOUT, help="How long to wait for the binding to be bound (30s)"
    )
    for verb in ("accept", "reject"):
        apiexport.add_argument(
            f"--{verb}-permission-claim",
            action="append",
            default=[],
            metavar="resource.group",
            help=f"Permission claims to {verb} (repeatable, comma-separated; e.g. configmaps,widgets.example.com)",
        )
        apiexport.add_argument(
            f"--{verb}-all-permission-claims",
            action="store_true",
            help=f"{verb.capitalize()} every permission claim of the APIExport not named otherwise",
        )

    claims = commands.add_parser("claims", help="Operations related to permission claims.", allow_abbrev=False)
    actions = claims.add_subparsers(dest="action", metavar="{get,accept,reject}", required=True)
    get = actions.add_parser("get", help="List the permission claims of APIBindings", allow_abbrev=False)
    add_connection_flags(get)
    get.add_argument("type", metavar="apibinding")
    get.add_argument("name", nargs="?")
    for verb in ("accept", "reject"):
        p = actions.add_parser(
            verb, help=f"{verb.capitalize()} a permission claim of an APIBinding", allow_abbrev=False
        )
        add_connection_flags(p)
        p.add_argument("binding")
        p.add_argument("--resource", required=True, metavar="resource[.group]", help="The claimed resource")
        p.add_argument("--identity-hash", help="The identity hash of the claimed resource (when several match)")

    shard = commands.add_parser("shard", help="Manages kcp shards.", allow_abbrev=False)
    shard_actions = shard.add_subparsers(dest="action", metavar="{cordon,uncordon}", required=True)
    for verb, text in (
        ("cordon", "Mark shard as unschedulable: no new workspaces are scheduled onto it"),
        ("uncordon", "Mark shard as schedulable again"),
    ):
        p = shard_actions.add_parser(verb, help=text, description=text, allow_abbrev=False)
        add_connection_flags(p)
        p.add_argument("shard", metavar="SHARD")
    return parser


def _command_index(argv: Sequence[str]) -> int:
    """Index of the first argument that is not a leading `--kubeconfig`/`--context` flag (or its value)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--kubeconfig", "--context"):
            i += 2
        elif arg.startswith(("--kubeconfig=", "--context=")):
            i += 1
        else:
            return i
    return i


def run(argv: Sequence[str], out: TextIO, err: TextIO, environ: Mapping[str, str]) -> int:
    """Run `kubectl kcp ARGV...`; returns the exit status (PluginError propagates to `main`)."""
    args = list(argv)
    index = _command_index(args)
    if index < len(args):
        command = args[index]
        rest = args[:index] + args[index + 1 :]
        if command in WS_COMMANDS:
            return ws_plugin.run(rest, out, err, environ)
        if command in UNSUPPORTED:
            raise PluginError(f"'kubectl kcp {command}' is not implemented by this plugin")
        args = args[index:] + args[:index]  # leading connection flags go to the subcommand
    ns = build_parser().parse_args(args)
    session = Session.open(ns.kubeconfig, ns.context, out, err, environ)
    base, current = session.workspace()
    client = session.client(base)
    if ns.command == "bind":
        choices = ClaimChoices(
            accept=parse_claims(ns.accept_permission_claim),
            reject=parse_claims(ns.reject_permission_claim),
            accept_all=ns.accept_all_permission_claims,
            reject_all=ns.reject_all_permission_claims,
        )
        bind_apiexport(client, current, ns.reference, out, err, name=ns.name, timeout=ns.timeout, choices=choices)
        return 0
    if ns.command == "shard":  # Shards live in root, whatever the current workspace
        set_cordon(client, ns.shard, ns.action == "cordon", out)
        return 0
    if ns.action == "get":
        if ns.type.lower() not in BINDING_TYPES:
            raise PluginError(f"only apibinding is supported, got {quote(ns.type)}")
        get_claims(client, current, out, err, ns.name)
        return 0
    state = ACCEPTED if ns.action == "accept" else REJECTED
    set_claim_state(
        client, current, ns.binding, parse_claim(ns.resource), state, out, identity_hash=ns.identity_hash or None
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `kubectl-kcp`: errors print `Error: <message>` on stderr and exit 1."""
    return run_plugin(lambda: run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr, os.environ))


if __name__ == "__main__":
    sys.exit(main())
