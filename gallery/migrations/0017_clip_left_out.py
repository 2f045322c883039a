from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0016_clip_regions"),
    ]

    operations = [
        migrations.AddField(
            model_name="clip",
            name="left_out",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
    ]
