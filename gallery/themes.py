"""The five themes every installation has; their slugs are stable because they are in URLs."""

from django.conf import settings
from django.utils import translation
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
    # Migration 0002 runs this on a Theme that has no names per language yet.
    if any(field.name == "name_en" for field in theme_model._meta.get_fields()):
        fill_default_names(theme_model)


def fill_default_names(theme_model):
    """Give the default themes their name in each language, from the message catalogues;
    a name staff already entered stays."""
    for slug, name in DEFAULT_THEMES:
        theme = theme_model.objects.filter(slug=slug).first()
        if theme is None:
            continue
        changed = []
        for code, _language in settings.LANGUAGES:
            field = f"name_{code}"
            if not getattr(theme, field):
                with translation.override(code):
                    setattr(theme, field, translation.gettext(name))
                changed.append(field)
        if changed:
            theme.save(update_fields=changed)
