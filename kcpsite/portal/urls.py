"""Portal routes: `/`, `/login`, `/logout`, `/tokens`, `/settings/theme`, `/workspaces/...`,
`/static/...`. Never under the Kubernetes API's prefixes."""

from pathlib import Path

from django.urls import include, path, re_path
from django.views.static import serve

from workspaces import portal_urls

from . import views

app_name = "portal"
STATIC_ROOT = Path(__file__).resolve().parent / "static"
OBJECTS = "workspaces/<wspath:path>/apis/<str:group>/<str:version>/<str:resource>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("tokens", views.tokens_view, name="tokens"),
    path("settings/theme", views.theme_view, name="theme"),
    path("palette.json", views.palette_json, name="palette"),
    path("", include(portal_urls.urlpatterns)),
    path("", include("apis.portal_urls")),
    path("workspaces/<wspath:path>/apis/", views.apis_view, name="apis"),
    path(OBJECTS, views.objects_view, name="objects"),
    path(OBJECTS + "list.json", views.objects_json, name="objects-json"),
    path(OBJECTS + "<str:namespace>/<str:name>", views.object_view, name="object"),
    path(OBJECTS + "<str:namespace>/<str:name>/edit", views.object_edit_view, name="object-edit"),
    re_path(r"^static/(?P<path>portal/.+)$", serve, {"document_root": STATIC_ROOT}),
]
