from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .services import theme_get


def portal(request: HttpRequest) -> dict[str, Any]:
    """The user's theme, rendered into <html data-theme> so the first paint is already right."""
    return {"theme": theme_get(user=getattr(request, "user", None))}
