"""Portal shell views: home, login/logout, personal tokens, theme, the command palette's items.
Thin: parse → check access → call a service or selector → render."""

from __future__ import annotations

import orjson
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kube import errors
from workspaces.selectors import workspaces_accessible

from .. import services
from ..shortcuts import identity, is_htmx, portal_view


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("portal:login")
    return redirect("portal:workspaces")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=True):
        next_url = ""
    error = ""
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        if token:
            user = authenticate(request, token=token)
        else:
            user = authenticate(
                request, username=request.POST.get("username", ""), password=request.POST.get("password", "")
            )
        if user is not None:
            login(request, user)
            return HttpResponseRedirect(next_url or reverse("portal:workspaces"))
        error = "Those credentials were not accepted."
    status = 401 if error else 200
    return render(request, "portal/login.html", {"error": error, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:login")


@portal_view
@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    me = identity(request)
    new_token = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            try:
                token_id = int(request.POST.get("token_id", ""))
            except ValueError:
                raise errors.BadRequest("token_id must be a number") from None
            services.token_delete(user_name=me.name, token_id=token_id)
        else:
            new_token = services.token_create(user=me, description=request.POST.get("description", ""))
    context = {"tokens": services.tokens_list(user_name=me.name), "new_token": new_token}
    template = "portal/_tokens.html" if is_htmx(request) else "portal/tokens.html"
    return render(request, template, context)


@portal_view
@require_POST
def theme_view(request: HttpRequest) -> HttpResponse:
    services.theme_set(user=request.user, theme=request.POST.get("theme", ""))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=True):
        back = reverse("portal:workspaces")
    return HttpResponseRedirect(back)


@portal_view
@require_GET
def palette_json(request: HttpRequest) -> HttpResponse:
    """What the Ctrl/Cmd+K palette offers: the portal's pages and the workspaces the user may open."""
    items = [
        {"label": "My workspaces", "url": reverse("portal:workspaces")},
        {"label": "API tokens", "url": reverse("portal:tokens")},
    ]
    me = identity(request)
    if me.is_admin:
        items.append({"label": "root", "url": reverse("portal:workspace", args=["root"])})
    for ws in workspaces_accessible(user=me):
        items.append({"label": ws.path, "url": reverse("portal:workspace", args=[ws.path])})
        items.append({"label": f"{ws.path} · objects", "url": reverse("portal:apis", args=[ws.path])})
    return HttpResponse(orjson.dumps({"items": items}), content_type="application/json")
