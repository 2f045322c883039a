"""Failures stored as sentences in the worker's language, before codes were: the sentences
the worker wrote become codes (shown in the reader's language); any other text stays."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from gallery.models import Clip, ClipTransition
from tests.factories import said_in

BEFORE = [("gallery", "0021_clip_renders_queued")]
AFTER = [("gallery", "0022_failure_codes_render_claims")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_failure_sentences_become_codes_and_other_text_stays():
    german = said_in("de", "This file is not a video we can read.")
    old = {
        "german": german,
        "stopped": "Processing stopped 3 times without finishing.",
        "other": "RuntimeError: the disk went away",
    }
    old_apps = migrate(BEFORE)
    try:
        OldClip = old_apps.get_model("gallery", "Clip")
        OldTransition = old_apps.get_model("gallery", "ClipTransition")
        for title, reason in old.items():
            clip = OldClip.objects.create(
                title=title, credit_name="Camille", status="failed", failure_reason=reason
            )
            OldTransition.objects.create(
                clip=clip, from_status="processing", to_status="failed", reason=reason
            )
        migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    clips = {clip.title: clip for clip in Clip.objects.all()}
    with translation.override("en"):
        assert clips["german"].failure_text == "This file is not a video we can read."
        assert clips["german"].decision_reason == "This file is not a video we can read."
        assert clips["stopped"].failure_text == "Processing stopped 3 times without finishing."
        assert clips["other"].failure_text == "RuntimeError: the disk went away"
    with translation.override("nl"):
        assert clips["stopped"].decision_reason == said_in(
            "nl", "Processing stopped %(attempts)s times without finishing.", attempts=3
        )
        assert clips["other"].decision_reason == "RuntimeError: the disk went away"
    assert ClipTransition.objects.filter(reason_code="not_video").count() == 1
