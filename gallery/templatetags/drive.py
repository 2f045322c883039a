"""The car's telemetry on pages: the strip under the player and the hints staff see."""

from django import template
from django.utils.translation import get_language, gettext

from gallery import telemetry
from gallery.models import Theme

register = template.Library()

# m/s to the visitor's unit. English pages (mostly British visitors) in mph, the others km/h;
# the strip has a button to switch.
UNITS = {"kmh": 3.6, "mph": 2.2369363}
# The columns the strip needs (the rest stays on the server).
STRIP_COLUMNS = ("t", "speed", "autopilot", "blinker", "brake")


def unit_for(language):
    return "mph" if (language or "").startswith("en") else "kmh"


@register.simple_tag
def drive_strip(clip):
    """What the strip shows: its unit, the summary for pages without JavaScript, the series."""
    series = clip.telemetry or {}
    summary = telemetry.summary_of(series) or {}
    unit = unit_for(get_language())
    return {
        "unit": unit,
        "max_speed": round(summary.get("max_speed", 0) * UNITS[unit]),
        "autopilot_percent": round(summary.get("autopilot_share", 0) * 100),
        "data": {
            "unit": unit,
            "factors": UNITS,
            **{name: series.get(name, []) for name in STRIP_COLUMNS},
        },
    }


@register.simple_tag
def drive_hints(clip):
    """[{"slug", "theme": label, "why": sentence, "added": bool}] for the themes the car's
    data suggests."""
    hints = telemetry.theme_hints(clip.telemetry)
    labels = {t.slug: t.label for t in Theme.objects.filter(slug__in=[h.slug for h in hints])}
    chosen = {t.slug for t in clip.themes.all()}
    found = []
    for hint in hints:
        if hint.reason == "autopilot":
            why = gettext("Autopilot engaged %(percent)s %% of the drive (%(seconds)s s)") % {
                "percent": round(hint.value * 100),
                "seconds": round(hint.seconds),
            }
        else:
            why = gettext("Hard acceleration: up to %(value)s m/s² (%(g)s g)") % {
                "value": f"{hint.value:.1f}",
                "g": f"{hint.value / 9.81:.2f}",
            }
        theme = labels.get(hint.slug, hint.slug)
        found.append({"slug": hint.slug, "theme": theme, "why": why, "added": hint.slug in chosen})
    return found
