from django.db import migrations

from gallery.migration_helpers import create_app_permissions

CODENAME = "view_inboundemail"


def grant(apps, schema_editor):
    # Moderators read why an e-mailed clip was or was not imported; downloading the raw
    # message and processing it again stay with those who may change these records.
    create_app_permissions(apps, "submissions")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="submissions", codename=CODENAME)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Moderators"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="submissions", codename=CODENAME)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0003_inbound_email"),
        ("gallery", "0005_moderators_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
