"""Shards. `ShardRecord` (global database, table kcp_shards) is the authority: what each shard
registered, its heartbeat and used count, and what operators set; placement reads it alone
(`shards.selectors.shard_candidates`, one indexed statement whatever the number of shards).

`ShardRow` is the table of the core.kcp.io Shard kind in root, on the shard hosting root: the view
of the records that `kubectl get shards` shows (`shards.mirror`). Its promoted columns describe
those objects for the operators' admin (`heartbeat` is Ready's lastHeartbeatTime: the heartbeat
seen when Ready last changed); nothing decides on them."""

from __future__ import annotations

from django.db import models

from kube.storage.models import KubeObject, object_key_constraint


class ShardRow(KubeObject):
    base_url = models.CharField(max_length=2048, blank=True)
    external_url = models.CharField(max_length=2048, blank=True)
    virtual_workspace_url = models.CharField(max_length=2048, blank=True)
    #: Ready's lastHeartbeatTime (the record's heartbeat when Ready last changed); None: never beat
    heartbeat = models.DateTimeField(null=True, blank=True)
    #: the cordon annotation is present (applied to the record, which the scheduler obeys)
    cordoned = models.BooleanField(default=False)
    #: status.used.workspaces as the mirror last copied it from the record
    used_workspaces = models.IntegerField(default=0)
    #: spec.resourceLimits.{soft,hard}.workspaces when valid; 0: no limit
    soft_limit = models.IntegerField(default=0)
    hard_limit = models.IntegerField(default=0)

    class Meta:
        db_table = "shards_shard"
        constraints = object_key_constraint("shards_shard")
        verbose_name = "shard"

    def __str__(self) -> str:
        return self.name


# --- the global database (kcpsite.dbrouter GLOBAL_MODELS) -----------------------------------------
#
# Plain tables, not stored kinds: every shard reads and writes them directly, so they carry no
# resourceVersion (a shard's revisions are its own) and no event log. What users see of them goes
# through stored kinds on the shards that own them (the Shard objects in root, the Workspaces and
# LogicalClusters), which follow these rows.

PHASE_SCHEDULING = "Scheduling"
PHASE_INITIALIZING = "Initializing"
PHASE_READY = "Ready"
PHASE_DELETING = "Deleting"
#: Phases in which a logical cluster serves requests (the front proxy routes these only).
ROUTED_PHASES = (PHASE_INITIALIZING, PHASE_READY)
#: LISTEN/NOTIFY channel of the directory; each notification is the changed row as JSON (name,
#: path, parent, workspace, shard, phase, op = INSERT/UPDATE/DELETE), sent on commit.
DIRECTORY_CHANNEL = "kcp_directory"
#: LISTEN/NOTIFY channel of the shard records: a record added, removed, or whose base URL changed
#: (the front proxy's backends follow these); the payload is the shard's name. Heartbeats and
#: the other columns say nothing: they update a row every few seconds and change no backend.
SHARDS_CHANNEL = "kcp_shards"


class ShardRecord(models.Model):
    """The authoritative record of one shard, in the global database: what it registered at start
    (URLs, labels), its heartbeat (a column update, no event), what operators set (cordon, limits,
    applied from the Shard object in root) and the number of logical clusters it reported. The
    placement query reads these rows only."""

    name = models.CharField(max_length=128, primary_key=True)
    base_url = models.CharField(max_length=2048, blank=True)
    external_url = models.CharField(max_length=2048, blank=True)
    virtual_workspace_url = models.CharField(max_length=2048, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True, db_index=True)
    cordoned = models.BooleanField(default=False)
    soft_limit = models.IntegerField(default=0)
    hard_limit = models.IntegerField(default=0)
    used_workspaces = models.IntegerField(default=0)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "kcp_shards"
        verbose_name = "shard record"

    def __str__(self) -> str:
        return self.name


class DirectoryEntry(models.Model):
    """One logical cluster in the global directory: where it lives (`shard`), its canonical path,
    the Workspace that owns it (parent cluster, workspace name, owner UID) and its phase. The
    directory row is the commit point of placement: the parent's shard inserts it (phase
    Scheduling), the owning shard creates the LogicalCluster and moves it to Initializing/Ready,
    deletion marks the subtree Deleting and each owning shard purges its own. `spec` carries what
    the owning shard needs to create the LogicalCluster without reading the parent's shard: the
    resolved type, its initializers, the owner annotation and additional labels."""

    name = models.CharField(max_length=128, primary_key=True)
    path = models.CharField(max_length=2048)
    parent = models.CharField(max_length=128, blank=True, db_index=True)
    workspace = models.CharField(max_length=253, blank=True)
    owner_uid = models.CharField(max_length=64, blank=True)
    shard = models.CharField(max_length=128)
    phase = models.CharField(max_length=16)
    type = models.CharField(max_length=512, blank=True)
    spec = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "kcp_directory"
        verbose_name = "logical cluster directory entry"
        verbose_name_plural = "logical cluster directory"
        constraints = [
            # One live logical cluster per path: path lookups are never ambiguous.
            models.UniqueConstraint(
                fields=["path"], condition=~models.Q(phase=PHASE_DELETING), name="kcp_directory_live_path"
            ),
            # One logical cluster per Workspace (its UID): a repeated placement finds the first.
            models.UniqueConstraint(
                fields=["owner_uid"], condition=~models.Q(owner_uid=""), name="kcp_directory_owner"
            ),
        ]
        indexes = [models.Index(fields=["shard", "phase"], name="kcp_directory_shard_phase")]

    def __str__(self) -> str:
        return f"{self.path} ({self.name} on {self.shard})"
