"""Portal pages of workspaces: my workspaces (tree), one workspace (children, members, create,
delete), kubeconfig. Thin views: parse → check access → call a service → render. Every write goes
through workspaces.services / workspaces.members as the logged-in user, with the API's
authorization; a hidden button is never the protection."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kube import errors
from kube.authz.user import UserInfo
from workspaces import members, selectors, services

from .. import services as portal_services
from ..shortcuts import identity, is_htmx, portal_view


@portal_view
@require_GET
def tree_view(request: HttpRequest) -> HttpResponse:
    me = identity(request)
    return render(request, "portal/workspaces/tree.html", {"tree": selectors.workspace_tree(user=me)})


def _children(ws: selectors.WorkspaceView, me: UserInfo) -> tuple[int, list[dict[str, str]]]:
    """Children as listed at one revision (the page's live stream resumes from it)."""
    return selectors.workspace_children_listed(user=me, cluster=ws.cluster, parent_path=ws.path)


def _detail_context(request: HttpRequest, ws: selectors.WorkspaceView) -> dict[str, object]:
    me = identity(request)
    revision, children = _children(ws, me)
    abilities = selectors.workspace_abilities(user=me, workspace=ws)
    return {
        "ws": ws,
        "crumbs": selectors.workspace_breadcrumb(user=me, path=ws.path),
        "children": children,
        "revision": revision,
        "can": abilities,
        "types": selectors.workspace_types_allowed(user=me, cluster=ws.cluster) if abilities.create_child else [],
        "members": members.workspace_members_list(logical_cluster=ws.cluster) if ws.parent_cluster else [],
        "roles": list(members.PORTAL_ROLES),
    }


@portal_view
@require_GET
def detail_view(request: HttpRequest, path: str) -> HttpResponse:
    ws = selectors.workspace_get_for_user(path=path, user=identity(request))
    return render(request, "portal/workspaces/detail.html", _detail_context(request, ws))


@portal_view
@require_GET
def children_json(request: HttpRequest, path: str) -> HttpResponse:
    """The children list a page re-reads after its live stream expired or its socket reconnected."""
    ws = selectors.workspace_get_for_user(path=path, user=identity(request))
    revision, rows = _children(ws, identity(request))
    return HttpResponse(
        orjson.dumps({"resourceVersion": str(revision), "items": rows}), content_type="application/json"
    )


@portal_view
@require_POST
def create_view(request: HttpRequest, path: str) -> HttpResponse:
    me = identity(request)
    ws = selectors.workspace_get_for_user(path=path, user=me)
    name = request.POST.get("name", "").strip()
    type_name = request.POST.get("type", "").strip()
    error = ""
    try:
        services.workspace_create(user=me, cluster=ws.cluster, name=name, type_name=type_name)
    except (errors.Invalid, errors.AlreadyExists, errors.BadRequest) as e:
        error = e.message
    if is_htmx(request):
        context = _detail_context(request, ws)
        context["create_error"] = error
        context["created"] = "" if error else name
        return render(request, "portal/workspaces/_create.html", context, status=422 if error else 200)
    if error:
        raise errors.Invalid(error)
    return redirect("portal:workspace", path=ws.path)


@portal_view
@require_http_methods(["GET", "POST"])
def delete_view(request: HttpRequest, path: str) -> HttpResponse:
    me = identity(request)
    ws = selectors.workspace_get_for_user(path=path, user=me)
    if not ws.parent_cluster:
        raise errors.Forbidden("the root workspace cannot be deleted")
    crumbs = selectors.workspace_breadcrumb(user=me, path=ws.path)
    if request.method == "GET":
        return render(request, "portal/workspaces/delete.html", {"ws": ws, "crumbs": crumbs})
    if request.POST.get("confirm", "") != ws.name:
        return render(
            request,
            "portal/workspaces/delete.html",
            {"ws": ws, "crumbs": crumbs, "error": f'Type the workspace name "{ws.name}" to confirm.'},
            status=422,
        )
    services.workspace_delete(user=me, cluster=ws.parent_cluster, name=ws.name)
    parent = ws.path.rsplit(":", 1)[0]
    try:
        selectors.workspace_get_for_user(path=parent, user=me)
    except errors.NotFound:
        return redirect("portal:workspaces")
    return redirect("portal:workspace", path=parent)


@portal_view
@require_POST
def members_view(request: HttpRequest, path: str) -> HttpResponse:
    """Grant (action=grant: kind, name, role) or revoke (action=revoke: kind, name)."""
    me = identity(request)
    ws = selectors.workspace_get_for_user(path=path, user=me)
    if not ws.parent_cluster:
        raise errors.Forbidden("members of root are managed with RBAC")
    kind = request.POST.get("kind", "User")
    name = request.POST.get("name", "").strip()
    error = ""
    try:
        if request.POST.get("action") == "revoke":
            members.workspace_member_revoke(actor=me, logical_cluster=ws.cluster, username=name, kind=kind)
        else:
            members.workspace_member_grant(
                actor=me,
                logical_cluster=ws.cluster,
                username=name,
                role=request.POST.get("role", ""),
                kind=kind,
            )
    except errors.BadRequest as e:
        error = e.message
    except errors.Forbidden as e:
        if not is_htmx(request):
            raise
        # Shown in the section; the status stays 403 so a replayed request is refused visibly.
        context = _detail_context(request, ws)
        context["members_error"] = e.message
        return render(request, "portal/workspaces/_members.html", context, status=403)
    if is_htmx(request):
        context = _detail_context(request, ws)
        context["members_error"] = error
        return render(request, "portal/workspaces/_members.html", context, status=400 if error else 200)
    if error:
        raise errors.BadRequest(error)
    return redirect(reverse("portal:workspace", args=[ws.path]) + "#members")


@portal_view
@require_http_methods(["GET", "POST"])
def kubeconfig_view(request: HttpRequest, path: str) -> HttpResponse:
    me = identity(request)
    ws = selectors.workspace_get_for_user(path=path, user=me)
    if request.method == "GET":
        crumbs = selectors.workspace_breadcrumb(user=me, path=ws.path)
        context = {"ws": ws, "crumbs": crumbs, "server": _server(ws.path)}
        return render(request, "portal/workspaces/kubeconfig.html", context)
    filename, text = portal_services.kubeconfig_build(user=me, path=ws.path)
    response = HttpResponse(text, content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _server(path: str) -> str:
    return f"{settings.KCP_EXTERNAL_URL.rstrip('/')}/clusters/{path}"
