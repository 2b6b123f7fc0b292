"""The object browser: the APIs of a workspace, a resource's objects (live), one object as YAML,
and editing it (edit → review the diff → apply a merge patch). Thin: parse → resolve the workspace
as the user → call portal.objects (which reads and writes through the user's authorized client) →
render."""

from __future__ import annotations

import difflib

import orjson
import yaml
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from kube import errors
from kube.decoding import yaml_decode

from .. import objects
from ..shortcuts import crumbs_of, identity, portal_view, workspace_of


@portal_view
@require_GET
def apis_view(request: HttpRequest, path: str) -> HttpResponse:
    ws = workspace_of(request, path)
    apis = objects.apis_list(user=identity(request), cluster=ws.cluster)
    return render(request, "portal/apis.html", {"ws": ws, "apis": apis, "crumbs": crumbs_of(request, ws.path)})


def _info(ws, group: str, version: str, resource: str):  # type: ignore[no-untyped-def]
    return objects.api_resolve(
        cluster=ws.cluster, group=objects.group_of_slug(group), version=version, resource=resource
    )


@portal_view
@require_GET
def objects_view(request: HttpRequest, path: str, group: str, version: str, resource: str) -> HttpResponse:
    ws = workspace_of(request, path)
    info = _info(ws, group, version, resource)
    namespace = request.GET.get("namespace", "") if info.namespaced else ""
    revision, rows = objects.objects_list(user=identity(request), cluster=ws.cluster, info=info, namespace=namespace)
    return render(
        request,
        "portal/objects.html",
        {
            "ws": ws,
            "crumbs": crumbs_of(request, ws.path),
            "info": info,
            "origin_label": objects.origin_label(info.origin),
            "group_slug": group,
            "namespace": namespace,
            "revision": revision,
            "rows": rows,
            "list_url": reverse("portal:objects-json", args=[path, group, version, resource]),
        },
    )


@portal_view
@require_GET
def objects_json(request: HttpRequest, path: str, group: str, version: str, resource: str) -> HttpResponse:
    """The list a page re-reads after its live stream expired or its socket reconnected."""
    ws = workspace_of(request, path)
    info = _info(ws, group, version, resource)
    namespace = request.GET.get("namespace", "") if info.namespaced else ""
    revision, rows = objects.objects_list(user=identity(request), cluster=ws.cluster, info=info, namespace=namespace)
    return HttpResponse(
        orjson.dumps({"resourceVersion": str(revision), "items": rows}), content_type="application/json"
    )


@portal_view
@require_GET
def object_view(
    request: HttpRequest, path: str, group: str, version: str, resource: str, namespace: str, name: str
) -> HttpResponse:
    ws = workspace_of(request, path)
    info = _info(ws, group, version, resource)
    reveal = request.GET.get("reveal") == "1"
    obj = objects.object_get(
        user=identity(request),
        cluster=ws.cluster,
        info=info,
        namespace="" if namespace == "-" else namespace,
        name=name,
        reveal=reveal,
    )
    text = yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return render(
        request,
        "portal/object.html",
        {
            "ws": ws,
            "crumbs": crumbs_of(request, ws.path),
            "info": info,
            "origin_label": objects.origin_label(info.origin),
            "group_slug": group,
            "obj_name": name,
            "obj_namespace": "" if namespace == "-" else namespace,
            "yaml": text,
            "secret": objects.is_secret(info),
            "revealed": reveal,
            "saved": request.GET.get("saved") == "1",
            "may_edit": objects.object_may_patch(
                user=identity(request),
                cluster=ws.cluster,
                info=info,
                namespace="" if namespace == "-" else namespace,
                name=name,
            ),
        },
    )


def _yaml(obj: object) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)


@portal_view
@require_http_methods(["GET", "POST"])
def object_edit_view(
    request: HttpRequest, path: str, group: str, version: str, resource: str, namespace: str, name: str
) -> HttpResponse:
    """Edit as YAML → review the diff → apply as a merge patch carrying the resourceVersion the edit
    started from. A concurrent change answers 409 and is shown as a conflict banner; nothing is
    overwritten silently."""
    ws = workspace_of(request, path)
    info = _info(ws, group, version, resource)
    me = identity(request)
    ns = "" if namespace == "-" else namespace
    context: dict[str, object] = {
        "ws": ws,
        "crumbs": crumbs_of(request, ws.path),
        "info": info,
        "group_slug": group,
        "obj_name": name,
        "obj_namespace": ns,
        "object_url": reverse("portal:object", args=[path, group, version, resource, namespace, name]),
    }
    if request.method == "GET":
        current = objects.object_get(user=me, cluster=ws.cluster, info=info, namespace=ns, name=name, reveal=True)
        text = _yaml(current)
        context.update(original=text, edited=text)
        return render(request, "portal/object_edit.html", context)
    original_text = request.POST.get("original", "")
    edited_text = request.POST.get("edited", "")
    context.update(original=original_text, edited=edited_text)
    if request.POST.get("action") == "edit":
        return render(request, "portal/object_edit.html", context)
    try:  # the API's own decoder: no aliases, bounded size and depth, no NUL
        original = yaml_decode(original_text)
        edited = yaml_decode(edited_text)
    except errors.BadRequest as e:
        context["error"] = f"The YAML does not parse: {e.message}"
        return render(request, "portal/object_edit.html", context, status=400)
    try:
        patch = objects.object_edit_patch(original=original, edited=edited)
    except errors.BadRequest as e:
        context["error"] = e.message
        return render(request, "portal/object_edit.html", context, status=400)
    if not patch:
        context["error"] = "There are no changes to apply."
        return render(request, "portal/object_edit.html", context, status=400)
    if request.POST.get("action") != "apply":
        diff = difflib.unified_diff(
            original_text.splitlines(), _yaml(edited).splitlines(), "current", "yours", lineterm="", n=3
        )
        context.update(review=True, diff=list(diff)[2:])
        return render(request, "portal/object_edit.html", context)
    try:
        objects.object_patch(user=me, cluster=ws.cluster, info=info, namespace=ns, name=name, patch=patch)
    except errors.Conflict:
        context["conflict"] = True
        return render(request, "portal/object_edit.html", context, status=409)
    except (errors.Invalid, errors.BadRequest) as e:
        context["error"] = e.message
        return render(request, "portal/object_edit.html", context, status=e.code)
    return HttpResponseRedirect(str(context["object_url"]) + "?saved=1")
