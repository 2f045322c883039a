import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """The hourly prune (kept.prune) deletes claims by their time: indexed, it reads only
    the expired ones."""

    dependencies = [
        ("submissions", "0007_upload_claim_submission"),
    ]

    operations = [
        migrations.AlterField(
            model_name="uploadclaim",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
    ]
