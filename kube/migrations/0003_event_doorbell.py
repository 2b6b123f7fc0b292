"""The `kube_events` doorbell rung by the database itself: a statement-level trigger on the event
log sends one NOTIFY per inserting statement (delivered on commit, folded per transaction by
PostgreSQL). Before this each write sent its own `SELECT pg_notify(...)`: one more round trip per
object write, and a write path that forgot it would have left watchers waiting for the poll."""

from django.db import migrations

CREATE = """
CREATE FUNCTION kube_event_doorbell() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kube_events', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER kube_event_doorbell AFTER INSERT ON kube_event
    FOR EACH STATEMENT EXECUTE FUNCTION kube_event_doorbell();
"""

DROP = """
DROP TRIGGER IF EXISTS kube_event_doorbell ON kube_event;
DROP FUNCTION IF EXISTS kube_event_doorbell();
"""


class Migration(migrations.Migration):
    dependencies = [("kube", "0002_revision_row")]
    operations = [migrations.RunSQL(CREATE, DROP)]
