import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
try:
    application = get_wsgi_application()
except ImproperlyConfigured as refusal:
    # One line for the operator instead of a traceback; the server stops (exit status 1).
    sys.exit(f"config.wsgi: {refusal}")
