from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from submissions.models import InboundEmail


class Command(BaseCommand):
    help = (
        "Delete the raw copies of e-mails processed more than INBOUND_RETENTION_DAYS ago; "
        "their records stay."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="override INBOUND_RETENTION_DAYS"
        )
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days, dry_run, **options):
        days = settings.INBOUND_RETENTION_DAYS if days is None else days
        cutoff = timezone.now() - timedelta(days=days)
        purged = 0
        for inbound in InboundEmail.objects.raw_expired(before=cutoff).order_by("pk"):
            verb = "would delete" if dry_run else "deleted"
            self.stdout.write(
                f"inbound e-mail {inbound.pk} ({inbound.status}): {verb} {inbound.raw.name}"
            )
            if not dry_run:
                with transaction.atomic():
                    inbound.delete_raw()
            purged += 1
        self.stdout.write(f"{purged} raw messages purged (processed more than {days} days ago)")
