"""Reserved metadata: annotations, labels and finalizers that only privileged identities may set,
change or remove, on every kind (kcp's ReservedMetadata admission).

A key is reserved when its prefix (the part before `/`) is a reserved domain or a subdomain of
one; kube reserves none itself (it knows nothing of kcp): the app that owns a domain reserves it
with `reserve_metadata_domain` (the workspaces app reserves `kcp.io`). Such keys steer tenancy —
a logical cluster's path and type, a workspace's owner, the claim labels a provider sees by, the
finalizers that hold a deletion — so a tenant who could write them could reach beyond their
workspace.

Contract (`reserved_metadata_check`): the Store calls it with what the CLIENT asked for (the
decoded body, the patched object, the applied result) and the stored object, before the kind's
strategy and the admission hooks add the system's own metadata, so what the server adds on a
user's behalf (a workspace's owner annotation, a claim label) is never mistaken for the user's.
A non-privileged write that sets or changes a reserved key is refused whole (403, nothing written);
resending reserved values unchanged is no modification (read-modify-write round trips,
`kubectl apply`/`edit`). A reserved key the client's update leaves out is kept, not removed: a
tenant's `kubectl replace -f` or helm's PUT of their own manifest cannot know the keys the system
put on the object (a claim label, a finalizer), and must neither fail for that nor strip them
(kube does the same with `status` on a main-resource write). Privileged: `UserInfo.is_admin`
(system:masters, system:kcp:admin; the system's controllers run as such)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kube import errors

if TYPE_CHECKING:
    from .context import RequestContext
    from .resources import ResourceInfo

Obj = dict[str, Any]

_domains: set[str] = set()
_exempt: set[str] = set()


def reserve_metadata_domain(domain: str) -> None:
    """Reserve metadata keys under `domain` and its subdomains (`kcp.io`: `kcp.io/path`,
    `core.kcp.io/shard`, `claimed.internal.apis.kcp.io/…`). Called from an AppConfig.ready()."""
    _domains.add(domain)


def exempt_metadata_key(key: str) -> None:
    """Leave one key of a reserved domain to clients: a user-facing switch that steers nothing
    beyond the client's own object (kcp's `apiexports.apis.kcp.io/skip-endpointslice`)."""
    _exempt.add(key)


def is_reserved_group(group: str) -> bool:
    """An API group under a reserved domain (`tenancy.kcp.io`): only privileged identities may
    define kinds in it (kcp's ReservedCRDGroups): a tenant's CRD or exported schema there would
    pose as a system API to every client that trusts the group."""
    return any(group == d or group.endswith("." + d) for d in _domains)


def reserved_group_check(*, ctx: RequestContext, resource: str, api_group: str, name: str, group: str) -> None:
    """Raise Forbidden when a non-privileged identity defines a kind in a reserved API group
    (`resource`.`api_group` "`name`" is the defining object: a CRD, an APIResourceSchema)."""
    if ctx.user.is_admin or not is_reserved_group(group):
        return
    raise errors.Forbidden(
        f'{resource}.{api_group} "{name}" is forbidden: API group "{group}" is reserved for the system',
        name=name,
        group=api_group,
        kind=resource,
    )


def is_reserved(key: str) -> bool:
    prefix, slash, _ = key.partition("/")
    return (
        bool(slash) and key not in _exempt and any(prefix == d or prefix.endswith("." + d) for d in _domains)
    )


def _mapping(md: Obj, name: str) -> dict[str, Any]:
    value = md.get(name)
    return value if isinstance(value, dict) else {}


def _finalizers(md: Obj) -> list[str]:
    value = md.get("finalizers")
    return [f for f in value if isinstance(f, str)] if isinstance(value, list) else []


def _changed_key(new: dict[str, Any], old: dict[str, Any], *, exempt: str | None) -> str | None:
    """The first reserved key set, changed or removed between `old` and `new`."""
    for key in (*new, *old):
        if key == exempt or not isinstance(key, str) or not is_reserved(key):
            continue
        if key not in new or key not in old or new[key] != old[key]:
            return key
    return None


def reserved_metadata_check(
    *,
    info: ResourceInfo,
    ctx: RequestContext,
    new: Obj,
    old: Obj | None,
    exempt_annotation: str | None = None,
) -> None:
    """Raise Forbidden when `ctx.user` is not privileged and `new` differs from `old` (None: a
    create, compared with the labels the server adds itself, `ctx.server_labels`) in a reserved
    annotation, label or finalizer. `exempt_annotation` is one the server stamps on every write
    whatever the client sent (kcp.io/cluster)."""
    if not _domains or ctx.user.is_admin:
        return
    raw = new.get("metadata")
    md: Obj = raw if isinstance(raw, dict) else {}
    old_md: Obj = (old or {}).get("metadata") or {}
    if old is not None and isinstance(raw, dict):
        _keep_omitted(md, old_md)
    labels = _mapping(md, "labels")
    if old is None:  # the server's labels the client resent unchanged are no modification
        old_labels = {k: v for k, v in ctx.server_labels.items() if k in labels}
    else:
        old_labels = _mapping(old_md, "labels")
    found = _changed_key(_mapping(md, "annotations"), _mapping(old_md, "annotations"), exempt=exempt_annotation)
    what = "annotation"
    if found is None:
        found, what = _changed_key(labels, old_labels, exempt=None), "label"
    if found is None:
        new_finalizers, old_finalizers = _finalizers(md), _finalizers(old_md)
        found = next(
            (
                f
                for f in (*old_finalizers, *new_finalizers)
                if is_reserved(f) and (f in new_finalizers) != (f in old_finalizers)
            ),
            None,
        )
        what = "finalizer"
    if found is None:
        return
    name = str(md.get("name") or old_md.get("name") or md.get("generateName") or "")
    raise errors.Forbidden(
        f'{info.qualified} "{name}" is forbidden: modification of reserved {what} "{found}" is forbidden',
        name=name,
        group=info.group,
        kind=info.resource,
    )


def _keep_omitted(md: Obj, old_md: Obj) -> None:
    """Put back into `md` the reserved annotations, labels and finalizers of `old_md` that the
    client's update left out (see the module docstring)."""
    for name in ("annotations", "labels"):
        kept = {k: v for k, v in _mapping(old_md, name).items() if is_reserved(k)}
        current = md.get(name)
        missing = {k: v for k, v in kept.items() if not isinstance(current, dict) or k not in current}
        if not missing:
            continue
        if isinstance(current, dict):
            current.update(missing)
        elif current is None:
            md[name] = missing
    old_finalizers = [f for f in _finalizers(old_md) if is_reserved(f)]
    current_finalizers = md.get("finalizers")
    if old_finalizers and (current_finalizers is None or isinstance(current_finalizers, list)):
        present = list(current_finalizers or [])
        md["finalizers"] = present + [f for f in old_finalizers if f not in present]
