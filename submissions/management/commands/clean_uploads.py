"""Remove uploads that never made a clip: run hourly (cron or a timer, docs/deploy.md).

Locally: tus uploads unfinished, or finished and never sent, for a day. On object storage:
finished direct uploads no clip uses after two days (the bucket's
AbortIncompleteMultipartUpload lifecycle rule removes the unfinished ones). And the claims of
uploads that made clips once no token or resend can meet them (kept.CLAIM_KEPT).
"""

from django.core.management.base import BaseCommand

from submissions import direct, kept, tus


class Command(BaseCommand):
    help = (
        "Remove resumable uploads older than a day that never made a clip, and expired "
        "upload claims."
    )

    def handle(self, *args, **options):
        # On object storage, unfinished multipart uploads: the bucket's lifecycle rule.
        removed = direct.clean_unsent() if direct.enabled() else tus.clean()
        self.stdout.write(f"Removed {removed} stale upload(s).")
        self.stdout.write(f"Removed {kept.prune()} expired upload claim(s).")
