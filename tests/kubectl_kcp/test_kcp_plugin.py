"""`kubectl kcp` (kubectl_kcp/kcp.py) without a server: argument and claim parsing, the bodies it
sends, and its flows against an in-memory double of the few API calls it makes (tests/e2e/
test_exports_plugin.py runs the real kubectl and plugin against the live stack)."""

from __future__ import annotations

import copy
import io
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubectl_kcp import kcp
from kubectl_kcp.kcp import ClaimChoices, ClaimRef
from kubectl_kcp.kubeconfig import ApiError, PluginError, Session

Obj = dict[str, Any]
PROJECT = Path(__file__).resolve().parents[2]
BINDINGS = "/clusters/root:cons/apis/apis.kcp.io/v1alpha2/apibindings"
EXPORT = "/clusters/root:prov/apis/apis.kcp.io/v1alpha2/apiexports/widgets"
CM_CLAIM = {"group": "", "resource": "configmaps", "verbs": ["get", "list"]}
THING_CLAIM = {"group": "things.example.com", "resource": "things", "identityHash": "abc123", "verbs": ["*"]}


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("500ms", 0.5), ("0", 0.0), ("2m", 120.0), ("+5s", 5.0)],
)
def test_parse_duration(value: str, seconds: float) -> None:
    assert kcp.parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "30", "s", "1x", "-1s", "1s2", "1 s"])
def test_parse_duration_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="time: "):
        kcp.parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"), [(30, "30s"), (90, "1m30s"), (3600, "1h0m0s"), (0.5, "500ms"), (2.5, "2.5s"), (0, "0s")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert kcp.format_duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "ref", "text"),
    [
        ("configmaps", ClaimRef("", "configmaps"), "configmaps"),
        ("configmaps.", ClaimRef("", "configmaps"), "configmaps"),
        ("widgets.example.com", ClaimRef("example.com", "widgets"), "widgets.example.com"),
        (" secrets ", ClaimRef("", "secrets"), "secrets"),
    ],
)
def test_parse_claim(value: str, ref: ClaimRef, text: str) -> None:
    assert kcp.parse_claim(value) == ref
    assert str(ref) == text


@pytest.mark.parametrize("value", ["", ".apps", "Config_Maps", "widgets.Example.com", "a.b..c"])
def test_parse_claim_rejects(value: str) -> None:
    with pytest.raises(PluginError, match="invalid permission claim"):
        kcp.parse_claim(value)


def test_parse_claims_splits_commas_and_dedupes() -> None:
    assert kcp.parse_claims(["configmaps,secrets", "widgets.example.com", "configmaps."]) == [
        ClaimRef("", "configmaps"),
        ClaimRef("", "secrets"),
        ClaimRef("example.com", "widgets"),
    ]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("root:prov:widgets", ("root:prov", "widgets")),
        (":root:prov:widgets.example.com", ("root:prov", "widgets.example.com")),
        ("root:export", ("root", "export")),
    ],
)
def test_parse_export_reference(reference: str, expected: tuple[str, str]) -> None:
    assert kcp.parse_export_reference(reference) == expected


@pytest.mark.parametrize("reference", ["widgets", ":widgets", "root:prov:", "root::x", "Root:x", "root:prov:Bad_Name"])
def test_parse_export_reference_needs_a_fully_qualified_reference(reference: str) -> None:
    with pytest.raises(PluginError, match="fully qualified reference"):
        kcp.parse_export_reference(reference)


def test_parser_bind_flags() -> None:
    ns = kcp.build_parser().parse_args(
        [
            "bind",
            "apiexport",
            "root:prov:widgets",
            "--name",
            "mine",
            "--timeout",
            "1m",
            "--accept-permission-claim",
            "configmaps,secrets",
            "--accept-permission-claim=things.example.com",
            "--reject-permission-claim",
            "pods",
            "--reject-all-permission-claims",
            "--kubeconfig",
            "/k",
        ]
    )
    assert (ns.command, ns.kind, ns.reference, ns.name, ns.timeout) == (
        "bind",
        "apiexport",
        "root:prov:widgets",
        "mine",
        60,
    )
    assert ns.accept_permission_claim == ["configmaps,secrets", "things.example.com"]
    assert ns.reject_permission_claim == ["pods"]
    assert (ns.accept_all_permission_claims, ns.reject_all_permission_claims, ns.kubeconfig) == (False, True, "/k")
    assert kcp.build_parser().parse_args(["bind", "apiexport", "root:x:y"]).timeout == kcp.BIND_TIMEOUT


def test_parser_rejects_bad_timeout_and_missing_resource(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        kcp.build_parser().parse_args(["bind", "apiexport", "root:x:y", "--timeout", "30"])
    assert 'time: invalid duration "30"' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        kcp.build_parser().parse_args(["claims", "accept", "b"])
    assert "--resource" in capsys.readouterr().err


def test_parser_claims_commands() -> None:
    ns = kcp.build_parser().parse_args(["claims", "get", "apibinding"])
    assert (ns.action, ns.type, ns.name) == ("get", "apibinding", None)
    ns = kcp.build_parser().parse_args(["claims", "reject", "b", "--resource=things.example.com", "--identity-hash=h"])
    assert (ns.action, ns.binding, ns.resource, ns.identity_hash) == ("reject", "b", "things.example.com", "h")


def test_choices_validation() -> None:
    with pytest.raises(PluginError, match="mutually exclusive"):
        ClaimChoices(accept_all=True, reject_all=True).validate()
    with pytest.raises(PluginError, match='"configmaps" cannot be both accepted and rejected'):
        ClaimChoices(accept=[ClaimRef("", "configmaps")], reject=[ClaimRef("", "configmaps")]).validate()
    ClaimChoices(accept=[ClaimRef("", "configmaps")], reject_all=True).validate()  # named claims override


# --------------------------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------------------------


def test_binding_body_and_claims_from_the_export() -> None:
    choices = ClaimChoices(accept=[ClaimRef("", "configmaps")], reject=[ClaimRef("things.example.com", "things")])
    claims, warnings = kcp.plan_claims(choices, [CM_CLAIM, THING_CLAIM], export="root:prov:widgets", binding="w")
    assert warnings == []
    body = kcp.binding_body("w", "root:prov", "widgets", claims)
    assert body == {
        "apiVersion": "apis.kcp.io/v1alpha2",
        "kind": "APIBinding",
        "metadata": {"name": "w"},
        "spec": {
            "reference": {"export": {"path": "root:prov", "name": "widgets"}},
            "permissionClaims": [
                {
                    "group": "",
                    "resource": "configmaps",
                    "verbs": ["get", "list"],
                    "selector": {"matchAll": True},
                    "state": "Accepted",
                },
                {
                    "group": "things.example.com",
                    "resource": "things",
                    "identityHash": "abc123",
                    "verbs": ["*"],
                    "selector": {"matchAll": True},
                    "state": "Rejected",
                },
            ],
        },
    }
    assert "permissionClaims" not in kcp.binding_body("w", "root:prov", "widgets", [])["spec"]


def test_unanswered_claims_are_warned_about_or_answered_by_the_all_flags() -> None:
    claims, warnings = kcp.plan_claims(ClaimChoices(), [CM_CLAIM, THING_CLAIM], export="root:p:e", binding="b")
    assert claims == []
    assert len(warnings) == 2
    assert warnings[0].startswith('APIExport "root:p:e" claims "configmaps" (verbs get,list), which apibinding b')
    assert "--accept-permission-claim=configmaps" in warnings[0]
    assert "things.example.com" in warnings[1]

    choices = ClaimChoices(reject=[ClaimRef("", "configmaps")], accept_all=True)
    claims, warnings = kcp.plan_claims(choices, [CM_CLAIM, THING_CLAIM], export="root:p:e", binding="b")
    assert warnings == []
    assert [(c["resource"], c["state"], c.get("identityHash")) for c in claims] == [
        ("configmaps", "Rejected", None),
        ("things", "Accepted", "abc123"),
    ]


def test_claims_the_export_does_not_make() -> None:
    choices = ClaimChoices(accept=[ClaimRef("", "secrets")])
    with pytest.raises(PluginError, match=r'APIExport "root:p:e" does not claim "secrets" \(its claims: configmaps\)'):
        kcp.plan_claims(choices, [CM_CLAIM], export="root:p:e", binding="b")
    claims, warnings = kcp.plan_claims(choices, [CM_CLAIM], export="root:p:e", binding="b", strict=False)
    assert [c["resource"] for c in claims] == ["secrets"] and "does not claim" in warnings[0]


def test_unknown_export_claims_get_all_verbs() -> None:
    choices = ClaimChoices(accept=[ClaimRef("", "configmaps")], accept_all=True)
    claims, warnings = kcp.plan_claims(choices, None, export="root:p:e", binding="b")
    assert warnings == []
    assert claims == [
        {"group": "", "resource": "configmaps", "verbs": ["*"], "selector": {"matchAll": True}, "state": "Accepted"}
    ]


def test_claim_rows_and_table() -> None:
    binding = {
        "metadata": {"name": "b"},
        "spec": {
            "permissionClaims": [
                {**CM_CLAIM, "state": "Accepted"},
                {"group": "", "resource": "secrets", "verbs": ["get"], "state": "Rejected"},
            ]
        },
        "status": {"exportPermissionClaims": [CM_CLAIM, THING_CLAIM]},
    }
    assert kcp.claim_rows(binding) == [
        ["b", "configmaps", "Accepted", "get,list"],
        ["b", "secrets", "Rejected (not claimed)", "get"],
        ["b", "things.things.example.com", "Pending", "*"],
    ]
    assert kcp.claims_table([binding]) == [
        "APIBINDING   RESOURCE                    STATE                    VERBS",
        "b            configmaps                  Accepted                 get,list",
        "b            secrets                     Rejected (not claimed)   get",
        "b            things.things.example.com   Pending                  *",
    ]
    assert kcp.claims_table([{"metadata": {"name": "x"}, "spec": {}}]) == []


# --------------------------------------------------------------------------------------------
# Flows against an in-memory API
# --------------------------------------------------------------------------------------------


def status(code: int, message: str) -> ApiError:
    return ApiError(code, message, {403: "Forbidden", 404: "NotFound", 409: "Conflict"}.get(code, ""))


class FakeApi:
    """APIBindings of root:cons and the APIExport root:prov:widgets. A new binding is Bound after
    `bound_after` GETs (never when None) and then shows the export's claims in its status."""

    def __init__(self, export_claims: list[Obj] | None = None, *, export_readable: bool = True) -> None:
        self.export: Obj = {"metadata": {"name": "widgets"}, "spec": {"permissionClaims": export_claims or []}}
        self.export_readable = export_readable
        self.bindings: dict[str, Obj] = {}
        self.gets: dict[str, int] = {}
        self.bound_after: int | None = 1
        self.conflicts = 0
        self.forbid_bind = False
        self.calls: list[tuple[str, str, Obj | None]] = []
        self.version = 0

    def request(self, method: str, path: str, body: Obj | None = None) -> Obj:
        self.calls.append((method, path, copy.deepcopy(body)))
        if path == EXPORT:
            if not self.export_readable:
                raise status(403, 'apiexports.apis.kcp.io "widgets" is forbidden')
            return copy.deepcopy(self.export)
        if path == BINDINGS and method == "POST":
            assert body is not None
            if self.forbid_bind:
                raise status(403, 'unable to create APIBinding: no permission to bind to export "root:prov:widgets"')
            name = body["metadata"]["name"]
            self.version += 1
            self.bindings[name] = {**copy.deepcopy(body), "status": {"phase": "Binding"}}
            self.bindings[name]["metadata"]["resourceVersion"] = str(self.version)
            return copy.deepcopy(self.bindings[name])
        if path == BINDINGS:
            return {"items": [copy.deepcopy(b) for b in self.bindings.values()]}
        name = path.rsplit("/", 1)[-1]
        if name not in self.bindings:
            raise status(404, f'apibindings.apis.kcp.io "{name}" not found')
        binding = self.bindings[name]
        if method == "GET":
            self.gets[name] = self.gets.get(name, 0) + 1
            if self.bound_after is not None and self.gets[name] > self.bound_after:
                binding["status"] = {
                    "phase": "Bound",
                    "exportPermissionClaims": self.export["spec"]["permissionClaims"],
                }
            else:
                binding["status"]["conditions"] = [
                    {"type": "APIExportValid", "status": "True"},
                    {"type": "Ready", "status": "False", "reason": "APIExportNotReady", "message": "waiting"},
                ]
            return copy.deepcopy(binding)
        assert method == "PUT" and body is not None
        if self.conflicts:
            self.conflicts -= 1
            self.version += 1
            binding["metadata"]["resourceVersion"] = str(self.version)
            raise status(409, "the object has been modified")
        assert body["metadata"]["resourceVersion"] == binding["metadata"]["resourceVersion"]
        self.version += 1
        binding["spec"] = copy.deepcopy(body["spec"])
        binding["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(binding)

    def posted(self) -> Obj:
        return next(b for m, p, b in self.calls if m == "POST" and b is not None)


def bind(api: FakeApi, *extra: str, timeout: float = 30, **kwargs: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    kcp.bind_apiexport(api, "root:cons", "root:prov:widgets", out, err, timeout=timeout, sleep=lambda s: None, **kwargs)
    return out.getvalue(), err.getvalue()


def test_bind_creates_waits_and_reports_like_kcp() -> None:
    api = FakeApi()
    out, err = bind(api)
    assert out == "apibinding widgets created. Waiting to successfully bind ...\nwidgets created and bound.\n"
    assert err == ""
    assert api.posted()["spec"] == {"reference": {"export": {"path": "root:prov", "name": "widgets"}}}
    assert api.gets["widgets"] == 2


def test_bind_with_a_name_and_accepted_claim() -> None:
    api = FakeApi([CM_CLAIM, THING_CLAIM])
    out, err = bind(api, name="mine", choices=ClaimChoices(accept=[ClaimRef("", "configmaps")]))
    assert out.endswith("mine created and bound.\n")
    claims = api.posted()["spec"]["permissionClaims"]
    assert claims == [{**CM_CLAIM, "selector": {"matchAll": True}, "state": "Accepted"}]
    assert err.startswith('Warning: APIExport "root:prov:widgets" claims "things.things.example.com"')
    assert not [c for c in api.calls if c[0] == "PUT"]


def test_bind_unknown_claim_fails_before_creating() -> None:
    api = FakeApi([CM_CLAIM])
    with pytest.raises(PluginError, match='does not claim "secrets"'):
        bind(api, choices=ClaimChoices(accept=[ClaimRef("", "secrets")]))
    assert api.bindings == {}


def test_bind_without_reading_the_export_answers_from_the_binding_status() -> None:
    api = FakeApi([CM_CLAIM, THING_CLAIM], export_readable=False)
    api.conflicts = 1
    out, err = bind(api, choices=ClaimChoices(accept=[ClaimRef("", "configmaps")], reject_all=True))
    assert api.posted()["spec"]["permissionClaims"][0]["verbs"] == ["*"]
    assert api.bindings["widgets"]["spec"]["permissionClaims"] == [
        {**CM_CLAIM, "selector": {"matchAll": True}, "state": "Accepted"},
        {**THING_CLAIM, "selector": {"matchAll": True}, "state": "Rejected"},
    ]
    assert err == "" and out.endswith("widgets created and bound.\n")


def test_bind_timeout_names_the_binding_and_its_conditions() -> None:
    api = FakeApi()
    api.bound_after = None
    clock = iter(range(0, 1000)).__next__
    with pytest.raises(PluginError) as info:
        bind(api, timeout=3, clock=lambda: float(clock()))
    assert str(info.value) == 'could not bind widgets: not bound within 3s (phase "Binding"): Ready: waiting'


def test_bind_forbidden_shows_the_status_message() -> None:
    api = FakeApi()
    api.forbid_bind = True
    with pytest.raises(ApiError, match="no permission to bind") as info:
        bind(api)
    assert info.value.status == 403


def test_claims_accept_adds_from_the_export_and_reject_flips_state() -> None:
    api = FakeApi([CM_CLAIM, THING_CLAIM])
    bind(api)
    out = io.StringIO()
    kcp.set_claim_state(api, "root:cons", "widgets", ClaimRef("", "configmaps"), "Accepted", out)
    assert out.getvalue() == "apibinding widgets: permission claim configmaps accepted.\n"
    assert api.bindings["widgets"]["spec"]["permissionClaims"] == [
        {**CM_CLAIM, "selector": {"matchAll": True}, "state": "Accepted"}
    ]
    kcp.set_claim_state(api, "root:cons", "widgets", ClaimRef("", "configmaps"), "Rejected", out)
    assert api.bindings["widgets"]["spec"]["permissionClaims"][0]["state"] == "Rejected"
    with pytest.raises(PluginError, match='apibinding widgets has no permission claim "secrets"'):
        kcp.set_claim_state(api, "root:cons", "widgets", ClaimRef("", "secrets"), "Accepted", out)


def test_claims_accept_reads_the_export_when_the_status_has_no_claims_yet() -> None:
    api = FakeApi([THING_CLAIM])
    api.bound_after = None
    api.bindings["b"] = {
        "metadata": {"name": "b", "resourceVersion": "1"},
        "spec": {"reference": {"export": {"path": "root:prov", "name": "widgets"}}},
        "status": {},
    }
    kcp.set_claim_state(
        api,
        "root:cons",
        "b",
        ClaimRef("things.example.com", "things"),
        "Accepted",
        io.StringIO(),
        identity_hash="abc123",
    )
    assert api.bindings["b"]["spec"]["permissionClaims"][0]["identityHash"] == "abc123"


def test_claims_get_lists_every_binding() -> None:
    api = FakeApi([CM_CLAIM])
    bind(api, choices=ClaimChoices(accept=[ClaimRef("", "configmaps")]))
    out, err = io.StringIO(), io.StringIO()
    kcp.get_claims(api, "root:cons", out, err)
    assert out.getvalue().splitlines()[1].split() == ["widgets", "configmaps", "Accepted", "get,list"]
    out, err = io.StringIO(), io.StringIO()
    kcp.get_claims(FakeApi(), "root:cons", out, err)
    assert (out.getvalue(), err.getvalue()) == ("", "No apibindings found.\n")


# --------------------------------------------------------------------------------------------
# The command line end to end (in-process, the API client swapped for the double)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def kubeconfig(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "config"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1/clusters/root:cons"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    return {"KUBECONFIG": str(path), "HOME": str(tmp_path)}


def test_run_bind_and_claims(kubeconfig: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi([CM_CLAIM])
    seen: list[str] = []

    def client(self: Session, base: str) -> FakeApi:
        seen.append(base)
        return api

    monkeypatch.setattr(Session, "client", client)
    monkeypatch.setattr(kcp.time, "sleep", lambda s: None)
    out, err = io.StringIO(), io.StringIO()
    argv = ["bind", "apiexport", "root:prov:widgets", "--accept-permission-claim", "configmaps"]
    assert kcp.run(argv, out, err, kubeconfig) == 0
    assert out.getvalue().endswith("widgets created and bound.\n") and seen == ["https://127.0.0.1:1"]
    out = io.StringIO()
    assert (
        kcp.run(["--context", "c", "claims", "reject", "widgets", "--resource", "configmaps."], out, err, kubeconfig)
        == 0
    )
    assert out.getvalue() == "apibinding widgets: permission claim configmaps rejected.\n"
    out = io.StringIO()
    assert kcp.run(["claims", "get", "apibindings", "widgets"], out, err, kubeconfig) == 0
    assert "Rejected" in out.getvalue()
    with pytest.raises(PluginError, match="only apibinding is supported"):
        kcp.run(["claims", "get", "pods"], out, err, kubeconfig)


def test_run_delegates_ws_and_refuses_unimplemented(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(kcp.ws_plugin, "run", lambda argv, out, err, environ: calls.append(list(argv)) or 0)
    out, err = io.StringIO(), io.StringIO()
    assert kcp.run(["ws", "tree"], out, err, {}) == 0
    assert kcp.run(["--kubeconfig", "/k", "workspace", ":root"], out, err, {}) == 0
    assert calls == [["tree"], ["--kubeconfig", "/k", ":root"]]
    with pytest.raises(PluginError, match="'kubectl kcp crd' is not implemented"):
        kcp.run(["crd", "snapshot"], out, err, {})


def test_console_script() -> None:
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["kubectl-kcp"] == "kubectl_kcp.kcp:main"


# --------------------------------------------------------------------------------------------
# shard cordon / uncordon
# --------------------------------------------------------------------------------------------

SHARD = "/clusters/root/apis/core.kcp.io/v1alpha1/shards/alpha"


class FakeShards:
    """The Shard `alpha` in root; the first PUT may answer 409 once (`conflict`)."""

    def __init__(self, annotations: Obj | None = None, *, conflict: bool = False) -> None:
        self.shard: Obj = {"metadata": {"name": "alpha", "resourceVersion": "1"}, "spec": {"baseURL": "https://a"}}
        if annotations is not None:
            self.shard["metadata"]["annotations"] = annotations
        self.conflict = conflict
        self.puts: list[Obj] = []

    def request(self, method: str, path: str, body: Obj | None = None) -> Obj:
        if path != SHARD:
            raise status(404, 'shards.core.kcp.io "x" not found')
        if method == "GET":
            return copy.deepcopy(self.shard)
        assert method == "PUT" and body is not None
        self.puts.append(copy.deepcopy(body))
        if self.conflict:
            self.conflict = False
            self.shard["metadata"]["resourceVersion"] = "2"
            raise status(409, "the object has been modified")
        assert body["metadata"]["resourceVersion"] == self.shard["metadata"]["resourceVersion"]
        self.shard = copy.deepcopy(body)
        return copy.deepcopy(self.shard)


def test_cordon_sets_the_annotation_and_keeps_the_rest() -> None:
    api = FakeShards({"team": "ops"}, conflict=True)
    out = io.StringIO()
    kcp.set_cordon(api, "alpha", True, out)
    assert out.getvalue() == "shard/alpha cordoned\n"
    assert api.shard["metadata"]["annotations"] == {"team": "ops", kcp.CORDON_ANNOTATION: "true"}
    assert api.shard["spec"] == {"baseURL": "https://a"}
    assert len(api.puts) == 2  # the conflict was retried on a fresh read
    out = io.StringIO()
    kcp.set_cordon(api, "alpha", True, out)
    assert out.getvalue() == "shard/alpha already cordoned\n" and len(api.puts) == 2


def test_uncordon_removes_the_annotation() -> None:
    api = FakeShards({kcp.CORDON_ANNOTATION: "anything"})
    out = io.StringIO()
    kcp.set_cordon(api, "alpha", False, out)
    assert out.getvalue() == "shard/alpha uncordoned\n"
    assert api.shard["metadata"]["annotations"] == {}
    out = io.StringIO()
    kcp.set_cordon(FakeShards(), "alpha", False, out)
    assert out.getvalue() == "shard/alpha already uncordoned\n"


def test_cordon_of_an_unknown_shard_is_the_servers_not_found() -> None:
    with pytest.raises(ApiError, match="not found"):
        kcp.set_cordon(FakeShards(), "nope", True, io.StringIO())  # FakeShards serves only alpha


def test_shard_commands_parse() -> None:
    ns = kcp.build_parser().parse_args(["shard", "cordon", "alpha"])
    assert (ns.command, ns.action, ns.shard) == ("shard", "cordon", "alpha")
    with pytest.raises(SystemExit):
        kcp.build_parser().parse_args(["shard", "drain", "alpha"])
