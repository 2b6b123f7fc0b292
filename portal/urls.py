"""Portal routes: `/`, `/login`, `/logout`, `/tokens`, `/settings/theme`, `/workspaces/...`,
`/static/portal/...`. Never under the Kubernetes API's prefixes (kcpsite.urls sends those to the
API first, and kcpsite.middleware runs the portal's session middleware only for these)."""

from pathlib import Path

from django.urls import path, re_path, register_converter
from django.views.static import serve

from .views import account, browser, catalog, tenancy

app_name = "portal"
STATIC_ROOT = Path(__file__).resolve().parent / "static"


class WorkspacePath:
    """`root` or `root:a:b` (kcp paths: DNS labels joined by colons)."""

    regex = r"root(?::[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(WorkspacePath, "wspath")

WORKSPACE = "workspaces/<wspath:path>/"
OBJECTS = WORKSPACE + "apis/<str:group>/<str:version>/<str:resource>/"
CATALOG = WORKSPACE + "catalog/"
EXPORT = CATALOG + "<wspath:export_path>/<str:export_name>/"
BINDING = WORKSPACE + "bindings/<str:name>/"

urlpatterns = [
    # the shell: sign-in, tokens, theme, the command palette
    path("", account.home, name="home"),
    path("login", account.login_view, name="login"),
    path("logout", account.logout_view, name="logout"),
    path("tokens", account.tokens_view, name="tokens"),
    path("settings/theme", account.theme_view, name="theme"),
    path("palette.json", account.palette_json, name="palette"),
    # workspaces: the tree, one workspace, its members, kubeconfig
    path("workspaces/", tenancy.tree_view, name="workspaces"),
    path(WORKSPACE, tenancy.detail_view, name="workspace"),
    path(WORKSPACE + "children.json", tenancy.children_json, name="workspace-children"),
    path(WORKSPACE + "create", tenancy.create_view, name="workspace-create"),
    path(WORKSPACE + "delete", tenancy.delete_view, name="workspace-delete"),
    path(WORKSPACE + "members", tenancy.members_view, name="workspace-members"),
    path(WORKSPACE + "kubeconfig", tenancy.kubeconfig_view, name="workspace-kubeconfig"),
    # the API catalog, the bind wizard, a binding's status
    path(CATALOG, catalog.catalog_view, name="catalog"),
    path(EXPORT + "bind", catalog.bind_view, name="catalog-bind"),
    path(EXPORT + "review", catalog.bind_review_view, name="catalog-bind-review"),
    path(BINDING, catalog.binding_view, name="binding"),
    path(BINDING + "status", catalog.binding_status_view, name="binding-status"),
    path(BINDING + "claims", catalog.binding_claims_view, name="binding-claims"),
    # the object browser
    path(WORKSPACE + "apis/", browser.apis_view, name="apis"),
    path(OBJECTS, browser.objects_view, name="objects"),
    path(OBJECTS + "list.json", browser.objects_json, name="objects-json"),
    path(OBJECTS + "<str:namespace>/<str:name>", browser.object_view, name="object"),
    path(OBJECTS + "<str:namespace>/<str:name>/edit", browser.object_edit_view, name="object-edit"),
    re_path(r"^static/(?P<path>portal/.+)$", serve, {"document_root": STATIC_ROOT}),
]
