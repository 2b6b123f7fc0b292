"""Claim labels carry which of list and watch the consumer granted (apis/claims.py); labels
written before carry "" and would drop out of the provider's lists and watches. Relabel the
objects of every Bound binding with accepted claims once, with the claims sync itself (the rule
lives in one place). A fresh database has no bindings: nothing runs."""

from django.db import migrations


def relabel(apps, schema_editor):
    bindings = apps.get_model("apis", "APIBindingRow").objects.filter(phase="Bound")
    pending = [
        (cluster, name)
        for cluster, name, body in bindings.values_list("cluster", "name", "body")
        if ((body or {}).get("status") or {}).get("appliedPermissionClaims")
    ]
    if not pending:
        return
    from apis.claims import apibinding_claims_sync

    for cluster, name in pending:
        apibinding_claims_sync(cluster=cluster, name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("apis", "0002_apibindingrow"),
        ("kube", "0004_event_prev_object"),
        ("workspaces", "0002_alter_workspacerow_options"),
        ("shards", "0001_initial"),
    ]
    operations = [migrations.RunPython(relabel, migrations.RunPython.noop)]
