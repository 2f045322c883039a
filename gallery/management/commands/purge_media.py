from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gallery.models import Clip


class Command(BaseCommand):
    help = (
        "Delete the media of clips rejected or withdrawn more than RETENTION_DAYS ago; rows and "
        "history stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="override RETENTION_DAYS")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days, dry_run, **options):
        days = settings.RETENTION_DAYS if days is None else days
        cutoff = timezone.now() - timedelta(days=days)
        has_media = ~Q(original="") | ~Q(video="") | ~Q(poster="")
        expired = Clip.objects.filter(
            has_media,
            status__in=[Clip.Status.REJECTED, Clip.Status.WITHDRAWN],
            status_changed_at__lt=cutoff,
        ).order_by("pk")
        purged = 0
        for clip in expired:
            files = len(clip.media_names) + len(clip.originals)
            verb = "would delete" if dry_run else "deleted"
            self.stdout.write(f"clip {clip.pk} ({clip.status}): {verb} {files} files")
            if not dry_run:
                with transaction.atomic():
                    clip.delete_media(original=True)
            purged += 1
        self.stdout.write(f"{purged} clips purged (older than {days} days)")
