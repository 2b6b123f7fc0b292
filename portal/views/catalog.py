"""Portal pages of APIs: the catalog of APIExports a user may bind, the bind wizard (every
permission claim reviewed, accept or reject, before the bind button works) and a binding's live
status. Thin views: parse → check access → call a selector or service → render. Every write goes
through apis.services as the logged-in user, with the API's authorization and admission (the
`bind` check); a disabled button is never the protection."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from apis import selectors, services
from apis.kinds import GROUP
from kube import errors

from ..shortcuts import crumbs_of, identity, is_htmx, portal_view, workspace_of


@portal_view
@require_GET
def catalog_view(request: HttpRequest, path: str) -> HttpResponse:
    me = identity(request)
    ws = workspace_of(request, path)
    query = request.GET.get("q", "").strip()[:200]
    context = {
        "ws": ws,
        "crumbs": crumbs_of(request, ws.path),
        "query": query,
        "exports": selectors.apiexports_bindable(user=me, query=query, consumer_cluster=ws.cluster),
        "may_bind_here": selectors.may_create_bindings(user=me, cluster=ws.cluster),
        "oob": is_htmx(request),
    }
    template = "portal/apis/_catalog_results.html" if is_htmx(request) else "portal/apis/catalog.html"
    return render(request, template, context)


def _answers(request: HttpRequest, export: selectors.BindableExport) -> dict[str, str]:
    """The claim answers a form carries (claim-<key> = Accepted|Rejected), for this export's claims."""
    out = {}
    for claim in export.claims:
        value = request.POST.get(f"claim-{claim.key}") or request.GET.get(f"claim-{claim.key}") or ""
        if value:
            out[claim.key] = value
    return out


def _wizard_context(
    request: HttpRequest, ws: Any, export: selectors.BindableExport, answers: dict[str, str], name: str
) -> dict[str, Any]:
    reviewed = sum(1 for c in export.claims if answers.get(c.key) in services.CLAIM_ANSWERS)
    return {
        "ws": ws,
        "crumbs": crumbs_of(request, ws.path),
        "export": export,
        "claims": [(c, answers.get(c.key, "")) for c in export.claims],
        "binding_name": name,
        "reviewed": reviewed,
        "total": len(export.claims),
        "complete": reviewed == len(export.claims),
        "may_bind_here": selectors.may_create_bindings(user=identity(request), cluster=ws.cluster),
    }


def _default_name(export_name: str) -> str:
    """A binding name from the export's name (a DNS subdomain already, normally)."""
    name = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in export_name.lower()).strip("-.")
    return name[:253] or "binding"


@portal_view
@require_http_methods(["GET", "POST"])
def bind_view(request: HttpRequest, path: str, export_path: str, export_name: str) -> HttpResponse:
    me = identity(request)
    ws = workspace_of(request, path)
    if request.method == "POST":
        # No catalog lookup first: the service's own checks answer (403 for an export the user may
        # not bind, whether or not it exists), exactly as the API would.
        name = request.POST.get("name", "").strip()
        submitted = {k.removeprefix("claim-"): str(v) for k, v in request.POST.items() if k.startswith("claim-") and v}
        try:
            services.apibinding_create(
                cluster=ws.cluster,
                user=me,
                export_path=export_path,
                export_name=export_name,
                name=name,
                claims=submitted,
            )
        except (errors.Invalid, errors.AlreadyExists, errors.BadRequest) as e:
            export = selectors.apiexport_bindable_get(user=me, path=export_path, name=export_name)
            context = _wizard_context(request, ws, export, _answers(request, export), name)
            context["error"] = e.message
            return render(request, "portal/apis/bind.html", context, status=e.code)
        return redirect(reverse("portal:binding", args=[ws.path, name]) + "?created=1")
    export = selectors.apiexport_bindable_get(user=me, path=export_path, name=export_name, consumer_cluster=ws.cluster)
    context = _wizard_context(request, ws, export, {}, _default_name(export_name))
    return render(request, "portal/apis/bind.html", context)


@portal_view
@require_GET
def bind_review_view(request: HttpRequest, path: str, export_path: str, export_name: str) -> HttpResponse:
    """htmx: the wizard's submit area for the answers given so far (counts, button state)."""
    me = identity(request)
    ws = workspace_of(request, path)
    export = selectors.apiexport_bindable_get(user=me, path=export_path, name=export_name)
    context = _wizard_context(request, ws, export, _answers(request, export), request.GET.get("name", ""))
    context["oob"] = True
    return render(request, "portal/apis/_bind_submit.html", context)


def _binding_context(request: HttpRequest, path: str, name: str) -> dict[str, Any]:
    me = identity(request)
    ws = workspace_of(request, path)
    revision, binding = selectors.apibinding_get_for_user(user=me, cluster=ws.cluster, name=name)
    return {
        "ws": ws,
        "binding": binding,
        "revision": revision,
        "live": selectors.may_watch_bindings(user=me, cluster=ws.cluster),
        "group": GROUP,
    }


@portal_view
@require_GET
def binding_view(request: HttpRequest, path: str, name: str) -> HttpResponse:
    context = _binding_context(request, path, name)
    context["crumbs"] = crumbs_of(request, context["ws"].path)
    context["created"] = request.GET.get("created") == "1"
    return render(request, "portal/apis/binding.html", context)


@portal_view
@require_GET
def binding_status_view(request: HttpRequest, path: str, name: str) -> HttpResponse:
    """htmx: the binding's phase, conditions and claims as they are now (and the phase line out
    of band, so only that polite live region announces)."""
    try:
        context = _binding_context(request, path, name)
    except errors.NotFound:
        workspace_of(request, path)  # a workspace the user may not enter stays a plain 404
        context = {"gone": True, "binding": {"phase": "Deleted", "name": name}}
    context["oob"] = True
    return render(request, "portal/apis/_binding_status.html", context)


@portal_view
@require_http_methods(["POST"])
def binding_claims_view(request: HttpRequest, path: str, name: str) -> HttpResponse:
    """Answer the binding's pending claims (added by the export after binding)."""
    ws = workspace_of(request, path)
    answers = {
        key.removeprefix("claim:"): str(request.POST.get(key, "")) for key in request.POST if key.startswith("claim:")
    }
    services.apibinding_claims_answer(
        cluster=ws.cluster,
        user=identity(request),
        name=name,
        answers=answers,
        resource_version=request.POST.get("resourceVersion", ""),
    )
    return redirect(reverse("portal:binding", args=[ws.path, name]))
