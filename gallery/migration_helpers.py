"""Helpers that data migrations share. Keep them stable: old migrations import them."""

from django.contrib.auth.management import create_permissions


def create_app_permissions(apps, label):
    """Create the permissions of an app's models now rather than after migrate.

    A group made by a migration needs them at once. The migration state's app configs have
    no models module, which create_permissions asks for, so one is lent for the call and the
    previous value put back (the real registry's config keeps its own).
    """
    app_config = apps.get_app_config(label)
    previous = getattr(app_config, "models_module", None)
    app_config.models_module = previous or True
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = previous
