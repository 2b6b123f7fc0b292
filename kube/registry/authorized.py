"""The authorization client: `user + cluster` → Store calls that are authorized first.

The API authorizes every request in its pipeline before the Store is reached; code outside it (the
portal's pages and websocket, the apps' "as a user" services) calls the Store directly and would
otherwise repeat `authorize(user, cluster, Attributes.for_resource(...))` by hand before each
call, where one forgotten line is a hole. `AuthorizedClient` pairs each Store verb with its RBAC
check (kube.authz.authorizer: kcp's workspace `access` gate, then the cluster's RBAC), so a caller
holding a client cannot reach the Store unchecked:

    client = AuthorizedClient(user=user, cluster=cluster, field_manager="kcp-portal")
    client.list(info, namespace)          # Forbidden unless `list` is allowed there
    client.patch(info, ns, name, PATCH_MERGE, patch)
    if client.can("bind", "apiexports", group="apis.kcp.io", name=export): ...

Contract: each method raises `errors.Forbidden` (403, the API's message) before touching storage
when the user may not; a verb the kind does not serve is `errors.MethodNotAllowed` (405), as the
API answers. Namespaced attributes use the object's namespace (none for cluster-scoped kinds).
Writes run with the user as the RequestContext's user, so admission, managedFields and reserved
metadata rules see the same requester the check saw. `can`/`check` serve permissions that are not
a Store call (`bind` on an APIExport, `use` on a WorkspaceType, kcp's `access`) through the same
decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kube import errors
from kube.authz.authorizer import authorize
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.storage.backend import ListResult, ListScope

from .context import RequestContext
from .resources import ResourceInfo
from .store import STORE, Store

Obj = dict[str, Any]


@dataclass(frozen=True)
class AuthorizedClient:
    user: UserInfo
    cluster: str
    field_manager: str = ""
    store: Store = STORE

    # --- decisions ---------------------------------------------------------------------------------
    def check(
        self, verb: str, resource: str, *, group: str = "", namespace: str = "", name: str = "", subresource: str = ""
    ) -> None:
        """Raise Forbidden unless the user may `verb` `resource` here."""
        authorize(
            self.user,
            self.cluster,
            Attributes.for_resource(
                self.user, verb, resource, api_group=group, namespace=namespace, name=name, subresource=subresource
            ),
        )

    def can(
        self, verb: str, resource: str, *, group: str = "", namespace: str = "", name: str = "", subresource: str = ""
    ) -> bool:
        """The same decision as `check`, as a boolean (what a page shows or hides)."""
        try:
            self.check(verb, resource, group=group, namespace=namespace, name=name, subresource=subresource)
        except errors.Forbidden:
            return False
        return True

    def can_path(self, verb: str, path: str) -> bool:
        """A non-resource decision: `can_path("access", "/")` is kcp's gate into the workspace."""
        try:
            authorize(self.user, self.cluster, Attributes.for_path(self.user, verb, path))
        except errors.Forbidden:
            return False
        return True

    def may(self, verb: str, info: ResourceInfo, namespace: str = "", name: str = "", *, subresource: str = "") -> bool:
        """Whether `verb` on `info` would pass: the kind serves the verb and RBAC allows it."""
        try:
            self._authorize(verb, info, namespace, name, subresource=subresource)
        except (errors.Forbidden, errors.MethodNotAllowed):
            return False
        return True

    def _authorize(self, verb: str, info: ResourceInfo, namespace: str, name: str, *, subresource: str = "") -> str:
        """Check `verb` on `info`; returns the namespace the call addresses."""
        if verb not in info.verbs:
            raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
        namespace = namespace if info.namespaced else ""
        self.check(verb, info.resource, group=info.group, namespace=namespace, name=name, subresource=subresource)
        return namespace

    def context(self) -> RequestContext:
        """A fresh RequestContext of this user in this cluster (one per call: warnings are per call)."""
        return RequestContext(cluster=self.cluster, user=self.user, field_manager=self.field_manager)

    # --- reads ---------------------------------------------------------------------------------------
    def get(self, info: ResourceInfo, namespace: str, name: str) -> Obj:
        namespace = self._authorize("get", info, namespace, name)
        return self.store.get(info, self.context(), namespace, name)

    def get_listed(self, info: ResourceInfo, namespace: str, name: str) -> tuple[int, Obj]:
        """One object and the list revision it was read at (where a live view of its kind resumes),
        authorized as `get` of that object: the user learns nothing of its siblings."""
        namespace = self._authorize("get", info, namespace, name)
        result = self.store.list(info, self.context(), namespace)
        body = next((o for o in result.items if (o.get("metadata") or {}).get("name") == name), None)
        if body is None:
            raise errors.not_found(info.resource, name, info.group)
        return result.revision, body

    def list(self, info: ResourceInfo, namespace: str = "", **options: Any) -> ListResult:
        """`options` are the Store's (label_q, field_q, limit, continue_token)."""
        namespace = self._authorize("list", info, namespace, "")
        return self.store.list(info, self.context(), namespace, **options)

    def watch(self, info: ResourceInfo, namespace: str = "") -> ListScope:
        """Authorize a watch of `info` (one namespace or all) and return the scope to follow
        (kube.registry.changes)."""
        namespace = self._authorize("watch", info, namespace, "")
        return ListScope(self.cluster, info.storage_group, info.storage_resource, namespace)

    # --- writes --------------------------------------------------------------------------------------
    def create(self, info: ResourceInfo, namespace: str, body: Obj) -> Obj:
        namespace = self._authorize("create", info, namespace, "")
        return self.store.create(info, self.context(), namespace, body)

    def update(self, info: ResourceInfo, namespace: str, name: str, body: Obj, *, subresource: str = "") -> Obj:
        namespace = self._authorize("update", info, namespace, name, subresource=subresource)
        return self.store.update(info, self.context(), namespace, name, body, subresource=subresource)

    def patch(
        self, info: ResourceInfo, namespace: str, name: str, patch_type: str, patch: Any, *, subresource: str = ""
    ) -> Obj:
        namespace = self._authorize("patch", info, namespace, name, subresource=subresource)
        obj, _ = self.store.patch(info, self.context(), namespace, name, patch_type, patch, subresource=subresource)
        return obj

    def delete(self, info: ResourceInfo, namespace: str, name: str, options: Obj | None = None) -> Obj:
        namespace = self._authorize("delete", info, namespace, name)
        return self.store.delete(info, self.context(), namespace, name, options)
