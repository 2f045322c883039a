from django.db import migrations
from django.utils.translation import gettext_noop

THEMES = [
    ("performance", gettext_noop("Performance")),
    ("autopilot", gettext_noop("Autopilot")),
    ("technology", gettext_noop("Technology")),
    ("weekend", gettext_noop("Weekend")),
    ("design", gettext_noop("Design")),
]


def create_themes(apps, schema_editor):
    Theme = apps.get_model("gallery", "Theme")
    for order, (slug, name) in enumerate(THEMES):
        Theme.objects.update_or_create(slug=slug, defaults={"name": name, "order": order})


class Migration(migrations.Migration):
    dependencies = [("gallery", "0001_initial")]

    operations = [migrations.RunPython(create_themes, migrations.RunPython.noop)]
