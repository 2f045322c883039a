import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor

from django.core.management.base import BaseCommand

from gallery import demo
from gallery.models import Clip


class Command(BaseCommand):
    help = (
        "Create published demo clips: generated scenes (640x360 or 1280x720, sound) run "
        "through the normal processing. With --inline N, the first N are made here and the "
        "rest by the task worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clips", type=int, default=24)
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any clip exists")
        parser.add_argument("--seed", type=int, default=3)
        parser.add_argument(
            "--seconds", type=float, default=None, help="length of each clip (default 6-7 s)"
        )
        parser.add_argument(
            "--inline",
            type=int,
            default=None,
            help="make only this many clips now and queue the others for the worker "
            "(default: all now)",
        )

    def handle(self, *args, clips, if_empty, seed, seconds, inline, **options):
        if if_empty and Clip.objects.exists():
            self.stdout.write("Clips exist already; no demo data added.")
            return
        jobs = demo.plan(clips, seed=seed, offset=Clip.objects.count(), seconds=seconds)
        now = jobs if inline is None else jobs[: max(0, inline)]
        later = jobs[len(now) :]
        if now:
            self.stdout.write(f"Generating {len(now)} demo clips…")
            # Drawing runs in a helper process while this one processes the previous clip.
            # Spawned, not forked: the helper shares no database connection with this one.
            spawn = multiprocessing.get_context("spawn")
            with (
                tempfile.TemporaryDirectory(prefix="demo-") as tmp,
                ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool,
            ):
                # The first is drawn here, while the helper starts and draws the next ones.
                drawn = [None, *(demo.render(job, tmp, pool) for job in now[1:])]
                for i, job in enumerate(now):
                    path = drawn[i].result() if i else demo.render(job, tmp)
                    clip = demo.publish(job, path)
                    self.stdout.write(
                        f"  [{i + 1}/{len(now)}] {clip.title}: {clip.get_status_display()}"
                    )
        for job in later:
            demo.build_demo_clip.enqueue(
                job.index, job.width, job.height, job.rotation, job.seconds, job.seed
            )
        if later:
            self.stdout.write(f"{len(later)} more demo clips queued for the worker.")
