"""Theme names stored before the catalogues kept the car maker's words follow the catalogues."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from gallery.models import Theme

BEFORE = [("gallery", "0019_blurring_history")]
AFTER = [("gallery", "0020_theme_names_design_autopilot")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_catalogue_names_follow_the_catalogue_and_staff_names_stay():
    old_apps = migrate(BEFORE)
    try:
        OldTheme = old_apps.get_model("gallery", "Theme")
        OldTheme.objects.filter(slug="design").update(name_fr="Conception")
        OldTheme.objects.filter(slug="autopilot").update(
            name_fr="Pilotage automatique", name_it="Guida autonoma", name_es="Conduite maison"
        )
        migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    design = Theme.objects.get(slug="design")
    autopilot = Theme.objects.get(slug="autopilot")
    assert design.name_fr == "Design"
    assert (autopilot.name_fr, autopilot.name_it) == ("Autopilot", "Autopilot")
    # A name staff typed is not the old catalogue text: it stays.
    assert autopilot.name_es == "Conduite maison"
