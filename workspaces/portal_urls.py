"""Portal routes of workspace pages (included by kcpsite.portal.urls under the `portal` namespace)."""

from django.urls import path, register_converter

from . import portal


class WorkspacePath:
    """`root` or `root:a:b` (kcp paths: DNS labels joined by colons)."""

    regex = r"root(?::[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(WorkspacePath, "wspath")

urlpatterns = [
    path("workspaces/", portal.tree_view, name="workspaces"),
    path("workspaces/<wspath:path>/", portal.detail_view, name="workspace"),
    path("workspaces/<wspath:path>/children.json", portal.children_json, name="workspace-children"),
    path("workspaces/<wspath:path>/create", portal.create_view, name="workspace-create"),
    path("workspaces/<wspath:path>/delete", portal.delete_view, name="workspace-delete"),
    path("workspaces/<wspath:path>/members", portal.members_view, name="workspace-members"),
    path("workspaces/<wspath:path>/kubeconfig", portal.kubeconfig_view, name="workspace-kubeconfig"),
]
