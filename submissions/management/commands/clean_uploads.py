"""Remove resumable uploads to the site that were never finished, or never sent, in a day.

Run it from cron or a timer (the deploy guide says how often). On object storage the
bucket's AbortIncompleteMultipartUpload lifecycle rule does the same (docs/deploy.md).
"""

from django.core.management.base import BaseCommand

from submissions import direct, tus


class Command(BaseCommand):
    help = "Remove resumable uploads older than a day that never made a clip."

    def handle(self, *args, **options):
        if direct.enabled():
            self.stdout.write("Object storage: the bucket's lifecycle rule removes stale parts.")
            return
        removed = tus.clean()
        self.stdout.write(f"Removed {removed} stale upload(s).")
