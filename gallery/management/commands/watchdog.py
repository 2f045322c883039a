import time

from django.core.management.base import BaseCommand

from gallery.tasks import requeue_stale, requeue_stale_renders


class Command(BaseCommand):
    help = (
        "Requeue clips whose processing or render stopped (worker killed) or whose task was "
        "lost; fail them after the last attempt."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes")

    def handle(self, *args, once, interval, **options):
        while True:
            result = requeue_stale()
            if result["requeued"] or result["failed"] or once:
                self.stdout.write(f"requeued {result['requeued']}, failed {result['failed']}")
            renders = requeue_stale_renders()
            if renders["requeued"] or renders["failed"] or once:
                self.stdout.write(
                    f"renders requeued {renders['requeued']}, given up {renders['failed']}"
                )
            if once:
                return
            time.sleep(interval)
