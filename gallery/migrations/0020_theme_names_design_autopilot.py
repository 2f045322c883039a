from django.db import migrations

# Migration 0012 copied the built-in themes' names from the catalogues of the time, where
# French read "Conception" and "Pilotage automatique", Italian "Guida autonoma" and Spanish
# "Piloto automático". The catalogues now keep the car maker's words; a name still equal to
# the old catalogue text follows them, one staff typed stays.
RENAMES = [
    ("design", "name_fr", "Conception", "Design"),
    ("autopilot", "name_fr", "Pilotage automatique", "Autopilot"),
    ("autopilot", "name_it", "Guida autonoma", "Autopilot"),
    ("autopilot", "name_es", "Piloto automático", "Autopilot"),
]


def rename(apps, schema_editor):
    Theme = apps.get_model("gallery", "Theme")
    for slug, field, old, new in RENAMES:
        Theme.objects.filter(slug=slug, **{field: old}).update(**{field: new})


def rename_back(apps, schema_editor):
    Theme = apps.get_model("gallery", "Theme")
    for slug, field, old, new in RENAMES:
        Theme.objects.filter(slug=slug, **{field: new}).update(**{field: old})


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0019_blurring_history"),
    ]

    operations = [
        migrations.RunPython(rename, rename_back),
    ]
