"""The event log keeps the previous object of a MODIFIED event that changed labels, so a watch the
object leaves (a label selector, a virtual workspace's confinement) gets DELETED with what it was
allowed to see. A nullable column without default: adding it rewrites nothing."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("kube", "0003_event_doorbell")]
    operations = [migrations.AddField(model_name="event", name="prev_object", field=models.JSONField(null=True))]
