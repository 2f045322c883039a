"""The five themes every installation has; their slugs are stable because they are in URLs."""

from django.utils.translation import gettext_noop

DEFAULT_THEMES = [
    ("performance", gettext_noop("Performance")),
    ("autopilot", gettext_noop("Autopilot")),
    ("technology", gettext_noop("Technology")),
    ("weekend", gettext_noop("Weekend")),
    ("design", gettext_noop("Design")),
]


def ensure_default_themes(theme_model):
    """Create the default themes that are missing, in their order (runs in a migration too)."""
    for order, (slug, name) in enumerate(DEFAULT_THEMES):
        theme_model.objects.get_or_create(slug=slug, defaults={"name": name, "order": order})
