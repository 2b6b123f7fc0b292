"""Which database each model lives in: the shard's own (`default`) or the global one (`global`).

The global database (`KCP_GLOBAL_DATABASE_URL`, settings.py) is the small PostgreSQL every shard
reaches. It holds what must mean the same thing on every shard: identities and what references
them, so a token issued through one shard authenticates on all of them and a portal login is one
login. Everything that grows with objects stays in the shard's database.

Without `KCP_GLOBAL_DATABASE_URL` there is no `global` alias and this router answers `default` for
every model: one database, one connection, every transaction exactly as without a router.

The models of INSTALLED_APPS, classified:

global (identities, and what points at them by foreign key)
  auth.User, auth.Group, auth.Permission   users, groups, the permissions guardian grants
  contenttypes.ContentType                 Permission, LogEntry and guardian rows point at it;
                                           it lists the shard's models too (one row per model,
                                           the same on every shard: it does not grow)
  sessions.Session                         portal sessions: one login for every shard
  admin.LogEntry                           FKs to User and ContentType (object_id is a string)
  guardian.UserObjectPermission / GroupObjectPermission (and the generic bases)
                                           the portal's membership index: FKs to User, Group,
                                           Permission, ContentType; object_pk is a logical
                                           cluster's name (workspaces.members), no FK to a shard
  kube.Token                               hashed bearer tokens: a token works on every shard
  portal.Preference                        per-user settings, FK to User
  shards.ShardRecord                       the shards: URLs, labels, heartbeat, cordon, limits
  shards.DirectoryEntry                    the directory of logical clusters: path, shard, phase
                                           (placement's commit point, routing's source)
  apis.APIExportShard                      which shards hold bindings of an export (the
                                           export's endpoint slice lists their URLs)

shard (`default`)
  kube.KubeObject subclasses, kube.Revision, kube.Event   stored objects, the revision counter and
                                           the event log (resourceVersions are per shard)
  workspaces.*, apis.*, shards.ShardRow      concrete tables of kcp kinds (all KubeObject subclasses)
  messages, staticfiles, postgres, rest_framework, channels, daphne, kcpsite: no models

Migrations follow the same split: a migration operation naming a model goes where the model goes;
one that names none (RunSQL, RunPython) goes with its app: the apps in GLOBAL_APPS to the global
database, every other app (kube's storage triggers, the workspaces/apis data migrations) to the
shard. Relations between a global and a shard model are refused: PostgreSQL cannot join or
constrain across the two databases.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

GLOBAL = "global"
SHARD = "default"

#: Apps whose every model (and every model-less migration operation) is global.
GLOBAL_APPS = frozenset({"auth", "contenttypes", "sessions", "admin", "guardian"})
#: Global models of apps that otherwise live on the shard (app_label.model_name).
GLOBAL_MODELS = frozenset(
    {"kube.token", "portal.preference", "shards.shardrecord", "shards.directoryentry", "apis.apiexportshard"}
)


def is_global(app_label: str, model_name: str | None = None) -> bool:
    """Whether the model (or, with no model name, the app's model-less operations) is global."""
    if app_label in GLOBAL_APPS:
        return True
    return model_name is not None and f"{app_label}.{model_name.lower()}" in GLOBAL_MODELS


def global_alias() -> str:
    """The alias of the global database: `global` when configured, else the shard's `default`."""
    return GLOBAL if GLOBAL in connections.databases else SHARD


def _alias_of(model: Any) -> str:
    """A model class or instance (a lazy one, such as request.user, included: `_meta` is read
    through it)."""
    return global_alias() if is_global(model._meta.app_label, model._meta.model_name) else SHARD


class GlobalRouter:
    """settings.DATABASE_ROUTERS: global models to `global_alias()`, everything else to `default`."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return _alias_of(model)

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return _alias_of(model)

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return _alias_of(obj1) == _alias_of(obj2)

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        if db not in (GLOBAL, SHARD):
            return False
        wanted = global_alias() if is_global(app_label, model_name) else SHARD
        return db == wanted
