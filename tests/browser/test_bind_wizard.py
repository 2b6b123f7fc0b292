"""The API catalog and bind wizard in a real Chromium against the live stack, one browser context
per user.

World (built here through the API as the admin):
  root:wiz-provider: APIExport widgets.wizard.dev (one resource, claims on configmaps and secrets)
    and hidden.wizard.dev; tina may `bind` only the first (RBAC with resourceNames)
  root:wiz-tenant: tina is cluster-admin; a ConfigMap and a Secret in `default`
  root:wiz-other: oscar is cluster-admin; oscar may bind nothing
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .conftest import RBAC, Kcp, screenshot
from .test_accessibility import serious

PROVIDER, TENANT, OTHER = "root:wiz-provider", "root:wiz-tenant", "root:wiz-other"
EXPORT = "widgets.wizard.dev"
HIDDEN = "hidden.wizard.dev"
APIS = "/apis/apis.kcp.io"
VW = f"/services/apiexport/{PROVIDER}/{EXPORT}/clusters"


def _world(kcp: Kcp) -> dict[str, str]:
    kcp.workspace("root", "wiz-provider", "organization")
    tenant = kcp.workspace("root", "wiz-tenant", "organization")
    other = kcp.workspace("root", "wiz-other", "organization")
    p = f"/clusters/{PROVIDER}"
    status, out = kcp.call("POST", f"{p}{APIS}/v1alpha1/apiresourceschemas", {
        "apiVersion": "apis.kcp.io/v1alpha1", "kind": "APIResourceSchema",
        "metadata": {"name": f"v1.widgets.{EXPORT.split('.', 1)[1]}"},
        "spec": {
            "group": "wizard.dev", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1alpha1", "served": True, "storage": True, "schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
                    "size": {"type": "integer", "description": "How many parts the widget has"},
                    "color": {"type": "string"},
                }}},
            }}],
        },
    })
    assert status in (201, 409), out
    claims = [{"group": "", "resource": "configmaps", "verbs": ["get", "list", "watch"]},
              {"group": "", "resource": "secrets", "verbs": ["get", "list", "watch"]}]
    for name, spec in (
        (EXPORT, {"resources": [{"group": "wizard.dev", "name": "widgets", "schema": "v1.widgets.wizard.dev",
                                 "storage": {"crd": {}}}], "permissionClaims": claims}),
        (HIDDEN, {"resources": []}),
    ):
        status, out = kcp.call("POST", f"{p}{APIS}/v1alpha2/apiexports", {
            "apiVersion": "apis.kcp.io/v1alpha2", "kind": "APIExport", "metadata": {"name": name}, "spec": spec})
        assert status in (201, 409), out
    kcp.wait_until(lambda: (kcp.ok("GET", f"{p}{APIS}/v1alpha2/apiexports/{EXPORT}").get("status") or {})
                   .get("identityHash"), "the export's identity")
    status, out = kcp.call("POST", f"{p}{RBAC}/clusterroles", {
        "metadata": {"name": "wizard-binder"},
        "rules": [{"apiGroups": ["apis.kcp.io"], "resources": ["apiexports"], "resourceNames": [EXPORT],
                   "verbs": ["bind"]}],
    })
    assert status in (201, 409), out
    kcp.bind(PROVIDER, "tina", "wizard-binder")
    kcp.bind(TENANT, "tina", "cluster-admin")
    kcp.bind(OTHER, "oscar", "cluster-admin")
    for path, prefix in ((TENANT, "tenant"), (OTHER, "other")):
        for kind, body in (("configmaps", {"data": {"color": "blue"}}), ("secrets", {"stringData": {"pw": "x"}})):
            status, out = kcp.call("POST", f"/clusters/{path}/api/v1/namespaces/default/{kind}",
                                   {"metadata": {"name": f"{prefix}-{kind}"}, **body})
            assert status in (201, 409), out
    return {"tenant": tenant["spec"]["cluster"], "other": other["spec"]["cluster"]}


def _csrf(page: Any) -> str:
    headers = page.locator("body").get_attribute("hx-headers")
    return re.search(r'"X-CSRFToken": "([^"]+)"', headers or "").group(1)  # type: ignore[union-attr]


def _theme(page: Any, theme: str) -> None:
    page.get_by_label("Theme").select_option(theme)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("data-theme") == theme


def test_bind_wizard_accept_one_reject_one(kcp: Kcp, login: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    clusters = _world(kcp)
    page = login("tina")
    page.goto(f"/workspaces/{TENANT}/")
    page.get_by_role("link", name="API catalog").click()
    page.wait_for_url(f"**/workspaces/{TENANT}/catalog/")
    catalog = page.locator("#catalog-results")
    expect(catalog.get_by_role("heading", name=EXPORT)).to_be_visible()
    assert HIDDEN not in page.content()  # not bindable: not shown, not counted
    assert page.locator("#catalog-count").inner_text().startswith("1 API export you may bind")
    card = catalog.locator("article", has=page.get_by_role("heading", name=EXPORT))
    assert PROVIDER in card.inner_text() and "widgets.wizard.dev" in card.inner_text()
    assert "size" in card.inner_text() and "How many parts" in card.inner_text()  # schema fields
    secrets_row = card.get_by_role("row", name=re.compile(r"^secrets "))
    expect(secrets_row.get_by_text("Dangerous")).to_be_visible()
    assert card.get_by_role("row", name=re.compile(r"^configmaps ")).get_by_text("Dangerous").count() == 0

    # search (htmx, no reload): a miss, then a hit on a claimed resource
    page.get_by_label("Search APIs").fill("no-such-api")
    expect(page.locator("#catalog-results")).to_contain_text("No API you may bind matches")
    page.get_by_label("Search APIs").fill("secrets")
    expect(page.locator("#catalog-results").get_by_role("heading", name=EXPORT)).to_be_visible()
    screenshot(page, "catalog")

    expect(page.locator("#catalog-count")).to_contain_text("matching “secrets”")
    page.get_by_role("link", name=f"Bind {EXPORT} from {PROVIDER}").click()
    page.wait_for_url("**/bind")
    bind = page.get_by_role("button", name="Bind API")
    expect(bind).to_be_disabled()
    configmaps = page.get_by_role("group", name=re.compile(r"^configmaps"))
    secrets = page.get_by_role("group", name=re.compile(r"^secrets"))
    expect(secrets.get_by_text("Dangerous").first).to_be_visible()
    assert configmaps.get_by_text("Dangerous").count() == 0
    for group in (configmaps, secrets):  # every claim starts unreviewed
        assert not group.get_by_label("Accept").is_checked() and not group.get_by_label("Reject").is_checked()

    # the server refuses a submission with an unreviewed claim, whatever the button says
    cm_field = configmaps.get_by_label("Accept").get_attribute("name")
    headers = {"X-CSRFToken": _csrf(page), "Referer": page.url}
    partial = page.request.post(page.url, form={"name": "partial", cm_field: "Accepted"}, headers=headers)
    assert partial.status == 422 and "not reviewed: secrets" in partial.text()
    assert kcp.call("GET", f"/clusters/{TENANT}{APIS}/v1alpha2/apibindings/partial")[0] == 404

    configmaps.get_by_label("Accept").check()
    expect(page.locator("#review-progress")).to_contain_text("1 of 2 claims reviewed")
    expect(bind).to_be_disabled()
    secrets.get_by_label("Reject").check()
    expect(page.locator("#review-progress")).to_contain_text("2 of 2 claims reviewed")
    expect(bind).to_be_enabled()
    page.get_by_label("Binding name").fill("widgets")
    screenshot(page, "bind-wizard")

    with page.expect_response(lambda r: "/bindings/widgets/" in r.url and "status" not in r.url) as first:
        bind.click()
    page.wait_for_url("**/bindings/widgets/?created=1")
    first_phase = re.search(r'id="binding-phase"[^>]*>\s*Phase: <span[^>]*>(\w+)<', first.value.text())
    assert first_phase is not None
    # normally still Binding here (the reconciler runs in Celery); from then on only the socket updates it
    assert first_phase.group(1) in ("Binding", "Bound"), first_phase.group(1)
    page.evaluate("window.__noReload = true")
    expect(page.locator("#binding-phase")).to_contain_text("Bound", timeout=30_000)
    expect(page.locator('#binding-status tr[data-condition="Ready"]')).to_contain_text("True")
    assert page.evaluate("window.__noReload") is True  # updated in place, never reloaded
    claims = page.locator("#binding-status")
    expect(claims.locator('tr[data-claim="configmaps"]')).to_contain_text("Accepted")
    expect(claims.locator('tr[data-claim="secrets"]')).to_contain_text("Rejected")
    expect(claims.locator('tr[data-claim="secrets"]')).to_contain_text("Dangerous")
    screenshot(page, "binding-bound")

    binding = kcp.ok("GET", f"/clusters/{TENANT}{APIS}/v1alpha2/apibindings/widgets")
    states = {c["resource"]: c["state"] for c in binding["spec"]["permissionClaims"]}
    assert states == {"configmaps": "Accepted", "secrets": "Rejected"}
    assert binding["spec"]["reference"]["export"] == {"path": PROVIDER, "name": EXPORT}

    # the provider (admin token) sees the tenant's configmaps and no secrets, nothing of wiz-other
    def tenant_configmaps() -> list[dict[str, Any]]:
        items = kcp.ok("GET", f"{VW}/*/api/v1/configmaps")["items"]
        return items if any(i["metadata"]["name"] == "tenant-configmaps" for i in items) else []

    items = kcp.wait_until(tenant_configmaps, "the tenant's configmaps in the provider's view")
    assert {i["metadata"]["annotations"]["kcp.io/cluster"] for i in items} == {clusters["tenant"]}
    assert "other-configmaps" not in {i["metadata"]["name"] for i in items}
    status, out = kcp.call("GET", f"{VW}/*/api/v1/secrets")
    assert status in (403, 404) or out["items"] == [], out
    status, out = kcp.call("GET", f"{VW}/{clusters['tenant']}/api/v1/namespaces/default/secrets/tenant-secrets")
    assert status in (403, 404), out

    # axe in both themes on the catalog, the wizard and the binding page; screenshots of each
    findings: dict[str, list[str]] = {}
    pages = [("catalog", f"/workspaces/{TENANT}/catalog/"),
             ("bind-wizard", f"/workspaces/{TENANT}/catalog/{PROVIDER}/{EXPORT}/bind"),
             ("binding", f"/workspaces/{TENANT}/bindings/widgets/")]
    for theme in ("light", "dark"):
        _theme(page, theme)
        for name, url in pages:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            found = serious(page)
            if found:
                findings[f"{name}-{theme}"] = found
            screenshot(page, f"{name}-{theme}")
        # the wizard with every claim answered (the enabled button, the danger panel)
        page.goto(pages[1][1])
        page.get_by_role("group", name=re.compile(r"^configmaps")).get_by_label("Accept").check()
        page.get_by_role("group", name=re.compile(r"^secrets")).get_by_label("Reject").check()
        expect(page.get_by_role("button", name="Bind API")).to_be_enabled()
        found = serious(page)
        if found:
            findings[f"bind-wizard-reviewed-{theme}"] = found
    _theme(page, "light")
    assert findings == {}, findings


def test_no_bind_permission_no_export_and_forged_post_403(kcp: Kcp, login: Callable[..., Any]) -> None:
    _world(kcp)
    page = login("oscar")
    page.goto(f"/workspaces/{OTHER}/catalog/")
    text = page.content()
    assert EXPORT not in text and HIDDEN not in text and PROVIDER not in text
    assert page.get_by_text("There is no API you may bind").is_visible()
    for q in ("widgets", "wizard", "secrets"):
        response = page.request.get(f"/workspaces/{OTHER}/catalog/?q={q}", headers={"HX-Request": "true"})
        assert response.status == 200 and EXPORT not in response.text()
    # the wizard of an export oscar may not bind answers like a missing one
    hidden = page.goto(f"/workspaces/{OTHER}/catalog/{PROVIDER}/{EXPORT}/bind")
    missing = page.goto(f"/workspaces/{OTHER}/catalog/{PROVIDER}/no-such-export/bind")
    assert hidden is not None and missing is not None and hidden.status == missing.status == 404
    # a forged POST (valid session and CSRF token) is refused by the server's bind check
    page.goto(f"/workspaces/{OTHER}/catalog/")
    headers = {"X-CSRFToken": _csrf(page), "Referer": page.url}
    form = {"name": "sneaky", "claim-anything": "Accepted"}
    for export in (EXPORT, "no-such-export"):
        response = page.request.post(f"/workspaces/{OTHER}/catalog/{PROVIDER}/{export}/bind", form=form,
                                     headers=headers)
        assert response.status == 403, (export, response.status)
    forged = page.request.post(f"/workspaces/{OTHER}/catalog/{PROVIDER}/{EXPORT}/bind", form=form)  # no CSRF
    assert forged.status == 403
    assert kcp.call("GET", f"/clusters/{OTHER}{APIS}/v1alpha2/apibindings/sneaky")[0] == 404
