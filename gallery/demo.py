"""Demo clips: generated scenes of a car's everyday life, run through the normal processing.

`seed_demo` makes the first clips itself (so the gallery shows real posters at once) and
queues the others as tasks for the worker (`build_demo_clip`), which generates, processes
and publishes each in turn while the site is already being served.

Most clips are 640x360 (or a phone's 360x640): cheap to make, and their rendition is named
"360p.mp4" for the size it has; every eighth is 1280x720, whose rendition is a true "720p.mp4".
Each clip's title and description are written in one language, and `language` says which.
"""

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.tasks import task

from gallery import processing
from gallery.models import Clip, Theme
from gallery.synth_scenes import synthesize_scene
from gallery.themes import ensure_default_themes


@dataclass(frozen=True)
class Demo:
    scene: str
    language: str
    title: str
    description: str
    featured: bool = False


CATALOGUE = [
    Demo(
        "dawn",
        "fr",
        "Lever de soleil sur la départementale",
        "Départ avant l'aube : la route est à nous.",
        featured=True,
    ),
    Demo("noon", "en", "Noon across the green hills", "Filmed from the car behind, no filters."),
    Demo(
        "charging",
        "fr",
        "Recharge de nuit en ville",
        "Branchée à 23 h, prête pour le départ du matin.",
        featured=True,
    ),
    Demo("rain", "nl", "Regenrit naar huis", "Ruitenwissers op automatisch, de weg glanst."),
    Demo("mountain", "it", "Tornanti verso il passo", "Curva dopo curva, in silenzio."),
    Demo(
        "night", "en", "Night drive under the stars", "The city lights behind us, the moon ahead."
    ),
    Demo("dusk", "es", "Atardecer camino a casa", "La última luz del día sobre las colinas."),
    Demo(
        "timelapse", "de", "Vom Abend in die Nacht", "Zeitraffer: die ersten Sterne kommen heraus."
    ),
    Demo("noon", "de", "Mittagsfahrt durchs Hügelland", "Sonne, Wolken und eine leere Landstraße."),
    Demo("rain", "fr", "Pluie sur l'autoroute", "Une averse d'été, et la route devient un miroir."),
    Demo(
        "charging",
        "en",
        "Supercharger at midnight",
        "Twenty minutes, a coffee, and back on the road.",
    ),
    Demo(
        "mountain",
        "de",
        "Serpentinen am Pass",
        "Kehre um Kehre hinauf, ganz ohne Motorlärm.",
        featured=True,
    ),
    Demo(
        "dawn",
        "en",
        "Sunrise on the back roads",
        "The first light over the hills on the way to work.",
    ),
    Demo("dusk", "it", "Tramonto sulle colline", "Il cielo si accende prima di tornare a casa."),
    Demo("night", "nl", "Nachtrit langs de stad", "De stad slaapt, de weg is leeg."),
    Demo(
        "rain", "es", "Lluvia en la autopista", "Los limpiaparabrisas en automático todo el camino."
    ),
    Demo(
        "mountain", "fr", "Col de montagne en lacets", "Les lacets du col, la régénération au max."
    ),
    Demo("charging", "nl", "'s Nachts laden in de stad", "Aan de lader terwijl de stad slaapt."),
    Demo("noon", "it", "Mezzogiorno in campagna", "Sole alto, nuvole bianche e strada libera."),
    Demo("dawn", "es", "Amanecer en la carretera", "Salimos temprano para ver salir el sol."),
    Demo("timelapse", "en", "From dusk till the first stars", "A time-lapse of the drive home."),
    Demo("rain", "en", "Driving home in the rain", "A wet road that shines like a mirror."),
    Demo("dusk", "fr", "Retour au crépuscule", "Le soleil se couche derrière les collines."),
    Demo("mountain", "en", "Mountain switchbacks", "Up the pass, one hairpin after another."),
]

CREDITS = {
    "fr": [("Camille", "FR"), ("Émile", "BE"), ("Chloé", "CH")],
    "en": [("Oliver", "GB"), ("Aoife", "IE"), ("Freya", "NO")],
    "de": [("Lukas", "DE"), ("Anna", "AT")],
    "nl": [("Sanne", "NL"), ("Bram", "BE")],
    "it": [("Giulia", "IT")],
    "es": [("Lucía", "ES")],
}
SCENE_THEMES = {
    "dawn": ["weekend", "design"],
    "noon": ["weekend"],
    "dusk": ["design", "weekend"],
    "night": ["design", "autopilot"],
    "timelapse": ["design"],
    "charging": ["technology"],
    "rain": ["autopilot", "technology"],
    "mountain": ["performance", "weekend"],
}


@dataclass(frozen=True)
class Job:
    """One demo clip to make: which catalogue entry, its frame size, length and seed."""

    index: int
    width: int
    height: int
    rotation: int
    seconds: float
    seed: int

    @property
    def demo(self):
        return CATALOGUE[self.index % len(CATALOGUE)]


def plan(count, *, seed=3, offset=0, seconds=None):
    """`count` jobs after the `offset` clips that exist: mostly landscape, a few phone-shaped.

    Clips last 6 to 7 s unless `seconds` says otherwise. The first ones (those `seed_demo`
    makes before the site starts) are all small; the HD one of every eight comes later.
    """
    rng = random.Random(seed + offset)  # nosec B311 - demo data, not security
    jobs = []
    for i in range(offset, offset + count):
        kind = i % 8
        if kind == 5:
            width, height, rotation = 360, 640, 0  # portrait pixels
        elif kind == 7:
            width, height, rotation = 640, 360, 90  # a phone's flag: shown portrait
        elif kind == 6:
            width, height, rotation = 1280, 720, 0  # HD: a 720p rendition
        else:
            width, height, rotation = 640, 360, 0
        length = rng.choice([6.0, 6.5, 7.0])
        jobs.append(Job(i, width, height, rotation, seconds or length, seed * 1000 + i))
    return jobs


def render(job, folder, pool=None):
    """Generate the job's video file in `folder` (in `pool`, an executor, when given).

    Returns its path, or a future of it with a pool. The drawing needs no database, so the
    pool may be a fresh process (spawned: no database connection is shared).
    """
    call = pool.submit if pool else lambda f, *a, **k: f(*a, **k)
    return call(
        synthesize_scene,
        Path(folder) / f"demo-{job.index}.mp4",
        job.demo.scene,
        seconds=job.seconds,
        width=job.width,
        height=job.height,
        rotation=job.rotation,
        seed=job.seed,
    )


def publish(job, path):
    """Record the clip, process it as any upload is, publish it; returns the clip."""
    demo = job.demo
    ensure_default_themes(Theme)
    rng = random.Random(job.seed)  # nosec B311 - demo data, not security
    name, country = rng.choice(CREDITS[demo.language])
    with transaction.atomic():
        clip = Clip(
            title=demo.title,
            description=demo.description,
            language=demo.language,
            credit_name=name,
            credit_country=country,
            source=Clip.Source.DEMO,
        )
        with Path(path).open("rb") as fh:
            clip.original.save(Path(path).name, File(fh), save=False)
        clip.save()
        clip.themes.set(Theme.objects.filter(slug__in=SCENE_THEMES[demo.scene]))
    processing.process(clip)
    clip.refresh_from_db()
    if clip.status == Clip.Status.REVIEW:
        clip.approve(by=None)
        if demo.featured:
            clip.set_featured(True)
        clip.refresh_from_db()
    return clip


@task
def build_demo_clip(index, width, height, rotation, seconds, seed):
    """The worker's share of `seed_demo`: generate, process and publish one demo clip."""
    job = Job(index, width, height, rotation, seconds, seed)
    with tempfile.TemporaryDirectory(prefix="demo-") as tmp:
        publish(job, render(job, tmp))
