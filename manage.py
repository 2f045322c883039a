#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - read the settings now, to refuse in one line
    except ImproperlyConfigured as refusal:
        sys.exit(f"{os.path.basename(sys.argv[0])}: {refusal}")
    execute_from_command_line(sys.argv)
