from django.db import migrations

from gallery.migration_helpers import create_app_permissions

# Exactly what reviewing needs: see and edit clips, decide, read the history and the owner's
# submission. Nothing about users, groups or site settings.
MODERATOR_PERMISSIONS = [
    ("gallery", "clip", ["view_clip", "change_clip", "moderate_clip"]),
    ("gallery", "cliptransition", ["view_cliptransition"]),
    ("gallery", "theme", ["view_theme"]),
    ("submissions", "submission", ["view_submission"]),
]


def create_group(apps, schema_editor):
    for label in ("gallery", "submissions"):
        create_app_permissions(apps, label)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, model, codenames in MODERATOR_PERMISSIONS:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label, content_type__model=model, codename__in=codenames
            )
        )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0004_rejection_reasons_login_failures"),
        ("submissions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
