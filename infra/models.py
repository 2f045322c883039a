from django.db import models
from django.utils import timezone


class PageVersion(models.Model):
    """One row whose number changes whenever anything visitors see changes.

    Anonymous pages are cached under this number (infra/cache.py), so one change retires
    every cached page at once, on every web node.
    """

    version = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"page version {self.version}"
