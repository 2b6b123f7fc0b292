from django.db import migrations


def create_counter(apps, schema_editor):
    apps.get_model("kube", "Revision").objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("kube", "0001_initial")]
    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
