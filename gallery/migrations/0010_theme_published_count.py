from django.db import migrations, models


def recount(apps, schema_editor):
    Theme = apps.get_model("gallery", "Theme")
    Through = apps.get_model("gallery", "Clip").themes.through
    for theme in Theme.objects.all():
        theme.published_count = Through.objects.filter(
            theme_id=theme.pk, clip__status="published"
        ).count()
        theme.save(update_fields=["published_count"])


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0009_infra_takes_page_version_and_lockout"),
    ]

    operations = [
        migrations.AddField(
            model_name="theme",
            name="published_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(recount, migrations.RunPython.noop),
    ]
