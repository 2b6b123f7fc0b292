"""What every portal view shares: the user's API identity, errors as pages, htmx fragments."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kube import errors
from kube.authz.identity import django_user_info
from kube.authz.user import UserInfo
from workspaces.selectors import WorkspaceView, workspace_breadcrumb, workspace_get_for_user

View = Callable[..., HttpResponse]


def identity(request: HttpRequest) -> UserInfo:
    cached = getattr(request, "_kcp_identity", None)
    if cached is None:
        cached = django_user_info(user=request.user)
        request._kcp_identity = cached  # type: ignore[attr-defined]
    return cached


def workspace_of(request: HttpRequest, path: str) -> WorkspaceView:
    """The workspace at `path` as the signed-in user may see it (404/403 as the API answers)."""
    return workspace_get_for_user(path=path, user=identity(request))


def crumbs_of(request: HttpRequest, path: str) -> list[tuple[str, str, bool]]:
    """The breadcrumb to `path`, ancestors the user may not open shown as plain names."""
    return workspace_breadcrumb(user=identity(request), path=path)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_page(request: HttpRequest, error: errors.StatusError) -> HttpResponse:
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Invalid"}
    return render(
        request,
        "portal/error.html",
        {"code": error.code, "title": titles.get(error.code, "Error"), "message": error.message},
        status=error.code,
    )


def portal_view(view: View) -> View:
    """Login required (pages redirect, fragments and non-GETs answer 401); kube StatusErrors become
    error pages with their HTTP code."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.method == "GET" and not is_htmx(request):
                return redirect_to_login(request.get_full_path())
            return HttpResponse("authentication required", status=401, content_type="text/plain")
        try:
            return view(request, *args, **kwargs)
        except errors.StatusError as e:
            return error_page(request, e)

    return wrapper
