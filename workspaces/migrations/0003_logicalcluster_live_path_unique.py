"""At most one live LogicalCluster holds a path (a partial unique index on core_logicalcluster.path).

Before this, a workspace admin could write their LogicalCluster's `kcp.io/path` annotation (and so
the derived `path` column) and duplicate another workspace's path. A database holding such
duplicates cannot take the index: the migration stops and names them, so an operator can decide
which rows are the impostors (the true path of each cluster follows its owning Workspaces)."""

from django.db import migrations, models


def refuse_duplicate_paths(apps, schema_editor):
    LogicalClusterRow = apps.get_model("workspaces", "LogicalClusterRow")
    duplicates = (
        LogicalClusterRow.objects.filter(deletion_timestamp__isnull=True)
        .exclude(path="")
        .values("path")
        .annotate(n=models.Count("id"))
        .filter(n__gt=1)
        .values_list("path", flat=True)
    )
    found = []
    for path in duplicates[:20]:
        clusters = list(
            LogicalClusterRow.objects.filter(path=path, deletion_timestamp__isnull=True).values_list("cluster", flat=True)
        )
        found.append(f"{path}: {', '.join(sorted(clusters))}")
    if found:
        raise RuntimeError(
            "cannot add the unique index on live logical cluster paths: these paths are held by more than one "
            "live logical cluster (a forged kcp.io/path annotation); fix or delete the impostor rows first:\n  "
            + "\n  ".join(found)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0002_alter_workspacerow_options"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicate_paths, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="logicalclusterrow",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deletion_timestamp__isnull", True), models.Q(("path", ""), _negated=True)),
                fields=("path",),
                name="core_lc_live_path",
            ),
        ),
    ]
