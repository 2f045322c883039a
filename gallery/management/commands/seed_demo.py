import random
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand
from django.db import transaction

from gallery import processing
from gallery.models import Clip, Theme
from gallery.synth import synthesize
from gallery.themes import ensure_default_themes

TITLES = [
    "Lever de soleil sur le col",
    "Supercharger at dawn",
    "Autobahn, sans bruit",
    "Pluie sur Amsterdam",
    "Il lago di Como in silenzio",
    "Camping-car mode by the sea",
    "0 to 100 on the old airfield",
    "Navigate on Autopilot, A7",
    "Weekend in the Dolomites",
    "Frunk picnic",
    "Winter test in Lapland",
    "Night drive through Lisbon",
    "The glass roof at noon",
    "Sentry Mode caught a fox",
    "Ferry to Corsica",
    "Light show in Berlin",
    "Commute along the Rhine",
    "Cap Ferret, low tide",
    "Mountain pass regen",
    "Madrid by night",
    "Dog mode on a hot day",
    "Tunnel sound check",
    "Brussels ring in the rain",
    "Charging at the vineyard",
    "Snow in the Alps",
    "Coastal road, Algarve",
    "Wipers on auto",
    "Track day in Zandvoort",
    "First drive home",
    "Road trip to Bavaria",
]
CREDITS = [
    ("Camille", "FR"),
    ("Lukas", "DE"),
    ("Sanne", "NL"),
    ("Giulia", "IT"),
    ("Lucía", "ES"),
    ("Émile", "BE"),
    ("Freya", "NO"),
    ("Mateo", "PT"),
    ("Anna", "AT"),
    ("Oskar", "SE"),
    ("Chloé", "CH"),
    ("Jakub", "PL"),
]
DESCRIPTIONS = [
    "A quiet morning before work.",
    "Filmed from the passenger seat, no filters.",
    "The car handled it as if it were nothing.",
    "We stopped for coffee while it charged.",
    "",
]


def demo_shape(index, rng):
    """Width, height and rotation flag: mostly landscape, some portrait, some phone-rotated."""
    kind = index % 6
    if kind == 4:
        return 360, 640, 0  # portrait pixels
    if kind == 5:
        return 640, 360, 90  # landscape pixels with a phone's rotation flag: shown portrait
    return 640, 360, 0


def render(args):
    path, seconds, width, height, rotation, title, seed = args
    synthesize(
        path, seconds=seconds, width=width, height=height, rotation=rotation, title=title, seed=seed
    )
    return path


class Command(BaseCommand):
    help = "Create published demo clips: real generated videos run through the normal processing."

    def add_arguments(self, parser):
        parser.add_argument("--clips", type=int, default=24)
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any clip exists")
        parser.add_argument("--seed", type=int, default=3)

    def handle(self, *args, clips, if_empty, seed, **options):
        if if_empty and Clip.objects.exists():
            self.stdout.write("Clips exist already; no demo data added.")
            return
        rng = random.Random(seed)  # nosec B311 - demo data, not security
        ensure_default_themes(Theme)
        themes = list(Theme.objects.all())
        offset = Clip.objects.count()
        with tempfile.TemporaryDirectory(prefix="demo-") as tmp:
            jobs = []
            for i in range(clips):
                width, height, rotation = demo_shape(i, rng)
                title = TITLES[(offset + i) % len(TITLES)]
                jobs.append(
                    (
                        Path(tmp) / f"demo-{i}.mp4",
                        rng.randint(4, 20),
                        width,
                        height,
                        rotation,
                        title,
                        seed * 1000 + offset + i,
                    )
                )
            self.stdout.write(f"Generating {clips} demo clips…")
            with ProcessPoolExecutor(max_workers=2) as pool:
                paths = list(pool.map(render, jobs))
            for i, (path, job) in enumerate(zip(paths, jobs, strict=True)):
                clip = self.create(path, job[5], rng, themes)
                processing.process(clip)
                clip.refresh_from_db()
                if clip.status == Clip.Status.REVIEW:
                    clip.approve(by=None)
                self.stdout.write(f"  [{i + 1}/{clips}] {clip.title}: {clip.get_status_display()}")

    def create(self, path, title, rng, themes):
        name, country = rng.choice(CREDITS)
        with transaction.atomic():
            clip = Clip(
                title=title,
                description=rng.choice(DESCRIPTIONS),
                credit_name=name,
                credit_country=country,
                source=Clip.Source.DEMO,
                featured=rng.random() < 0.12,
            )
            with path.open("rb") as fh:
                clip.original.save(path.name, File(fh), save=False)
            clip.save()
            clip.themes.set(rng.sample(themes, rng.randint(1, 3)))
        return clip
