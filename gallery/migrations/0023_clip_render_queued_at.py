from django.db import migrations, models
from django.utils import timezone


def queued_now(apps, schema_editor):
    """Renders queued before the time was recorded count from now: a lost one is queued
    again once RENDER_STALE_SECONDS pass, one still waiting its turn is left alone."""
    Clip = apps.get_model("gallery", "Clip")
    Clip.objects.filter(rendering_queued=True, render_queued_at=None).update(
        render_queued_at=timezone.now()
    )


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0022_failure_codes_render_claims"),
    ]

    operations = [
        migrations.AddField(
            model_name="clip",
            name="render_queued_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(queued_now, migrations.RunPython.noop, elidable=True),
    ]
