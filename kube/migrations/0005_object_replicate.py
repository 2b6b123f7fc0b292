"""The `replicate` mark on stored objects (kube.authz.replication sets it on the RBAC objects other
shards need; the cache's publication copies the marked rows) and the unique index the publication
uses as replica identity: the key plus the mark, because a row filter may read only replica
identity columns.

The column has a constant database default: adding it rewrites nothing. The index is built
CONCURRENTLY (writes go on meanwhile; hence a non-atomic migration) and then becomes the
constraint the model declares, so Django's state and the database agree."""

from django.db import migrations, models

INDEX = (
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS kube_object_replica_identity "
    'ON kube_object (cluster, "group", resource, namespace, name, replicate)'
)
CONSTRAINT = (
    "ALTER TABLE kube_object ADD CONSTRAINT kube_object_replica_identity "
    "UNIQUE USING INDEX kube_object_replica_identity"
)
DROP = "ALTER TABLE kube_object DROP CONSTRAINT IF EXISTS kube_object_replica_identity"


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("kube", "0004_event_prev_object")]
    operations = [
        migrations.AddField(
            model_name="storedobject",
            name="replicate",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name="storedobject",
                    constraint=models.UniqueConstraint(
                        fields=("cluster", "group", "resource", "namespace", "name", "replicate"),
                        name="kube_object_replica_identity",
                    ),
                )
            ],
            database_operations=[migrations.RunSQL(INDEX, DROP), migrations.RunSQL(CONSTRAINT, migrations.RunSQL.noop)],
        ),
    ]
