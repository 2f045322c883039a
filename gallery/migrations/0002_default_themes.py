from django.db import migrations

from gallery.themes import ensure_default_themes


def create_themes(apps, schema_editor):
    ensure_default_themes(apps.get_model("gallery", "Theme"))


class Migration(migrations.Migration):
    dependencies = [("gallery", "0001_initial")]

    operations = [migrations.RunPython(create_themes, migrations.RunPython.noop)]
