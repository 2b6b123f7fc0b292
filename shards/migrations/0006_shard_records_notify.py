"""The shard records' doorbell: a record inserted, deleted, or whose `base_url` changed is announced
on SHARDS_CHANNEL (`kcp_shards`) with the shard's name, on commit, for the front proxy's syncer
(frontproxy.backends). Heartbeats (`heartbeat`, `used_workspaces`, every 10 s per shard) and
operator settings (cordon, limits) are silent: they change no backend, and a reload per heartbeat
would churn HAProxy. `UPDATE OF base_url` fires whenever the column is in the SET list (Django's
update_or_create sets every field), hence the WHEN on a real change.

Schema-qualified and search_path-pinned, like the directory's trigger."""

from django.db import migrations

NOTIFY_SQL = """
CREATE OR REPLACE FUNCTION kcp_shards_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('kcp_shards', OLD.name);
  ELSE
    PERFORM pg_notify('kcp_shards', NEW.name);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER kcp_shards_notify_membership AFTER INSERT OR DELETE ON kcp_shards
FOR EACH ROW EXECUTE FUNCTION kcp_shards_notify();
CREATE TRIGGER kcp_shards_notify_url AFTER UPDATE OF name, base_url ON kcp_shards
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.base_url IS DISTINCT FROM NEW.base_url)
EXECUTE FUNCTION kcp_shards_notify();
"""
NOTIFY_REVERSE_SQL = """
DROP TRIGGER IF EXISTS kcp_shards_notify_membership ON kcp_shards;
DROP TRIGGER IF EXISTS kcp_shards_notify_url ON kcp_shards;
DROP FUNCTION IF EXISTS kcp_shards_notify();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("shards", "0005_cache_notify"),
    ]

    operations = [
        # hints: the router sends this where the shard records live (the global database when configured).
        migrations.RunSQL(NOTIFY_SQL, NOTIFY_REVERSE_SQL, hints={"model_name": "shardrecord"}),
    ]
