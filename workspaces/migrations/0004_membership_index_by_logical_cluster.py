"""The portal's membership index is keyed by logical cluster name instead of the Workspace row's
primary key (workspaces.members explains the key): the two index permissions move from
WorkspaceRow to LogicalClusterRow, and this shard's part of the index is rebuilt from its RBAC
(`workspace_members_reindex`, which also drops the rows of the former key).

Runs on each shard database once (a model-less operation of the workspaces app: kcpsite.dbrouter
sends it to the shard); the index rows it writes go to the global database through the router.
No statement joins the two. A database with no Ready workspace (a fresh install, where in split
mode the global database is migrated after this one) does nothing."""

from django.db import migrations


def reindex(apps, schema_editor):
    clusters = apps.get_model("workspaces", "LogicalClusterRow").objects.filter(name="cluster", phase="Ready")
    if not clusters.exclude(cluster="root").exists():
        return
    from workspaces.members import workspace_members_reindex

    workspace_members_reindex()


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0003_logicalcluster_live_path_unique"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="logicalclusterrow",
            options={"permissions": [("admin_workspace", "Administer the workspace")]},
        ),
        migrations.AlterModelOptions(name="workspacerow", options={}),
        migrations.RunPython(reindex, migrations.RunPython.noop),
    ]
