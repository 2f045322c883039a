import pytest
from django.core import mail

from gallery.models import Clip
from tests.factories import owned_clip, said_in

pytestmark = pytest.mark.django_db


def test_status_page_shows_each_state(client):
    submission, clip = owned_clip(status=Clip.Status.REJECTED)
    html = client.get(submission.get_status_url()).content.decode()
    assert clip.title in html and "Rejected" in html and "Out of focus" in html
    assert "owner@example.org" not in html


def test_forged_or_unknown_tokens_are_404(client):
    submission, _ = owned_clip()
    good = submission.signed_token
    for bad in (good[:-2] + "xx", submission.token, "abc", good + "x"):
        assert client.get(f"/en/my/{bad}/").status_code == 404


def test_withdrawal_asks_first_then_removes_clip_and_files(
    client, sample_video, media_storage, django_capture_on_commit_callbacks
):
    submission, clip = owned_clip(status=Clip.Status.PUBLISHED, video=sample_video)
    public_files = [
        media_storage / folder / name
        for name in clip.media_names
        for folder in ("public", "private")
    ]
    original = media_storage / "private" / clip.original.name
    assert all(p.exists() for p in public_files) and original.exists()
    assert client.get(clip.get_absolute_url()).status_code == 200

    url = submission.get_status_url()
    confirm = client.post(url, {"action": "withdraw", "clip": clip.pk})
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PUBLISHED

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"action": "withdraw", "clip": clip.pk, "confirm": "1"})
    assert done.status_code == 302
    clip.refresh_from_db()
    assert clip.status == Clip.Status.WITHDRAWN
    assert client.get(f"/en/clips/{clip.pk}/").status_code == 404  # no longer available
    assert not any(p.exists() for p in public_files) and not original.exists()
    assert "withdrawn" in client.get(done["Location"]).content.decode()


def test_cannot_withdraw_someone_elses_clip(client):
    mine, _ = owned_clip()
    _, theirs = owned_clip()
    response = client.post(
        mine.get_status_url(), {"action": "withdraw", "clip": theirs.pk, "confirm": "1"}
    )
    assert response.status_code == 404
    assert Clip.objects.get(pk=theirs.pk).status == Clip.Status.REVIEW


def test_consent_on_the_status_page_unblocks_approval(client):
    submission, clip = owned_clip(consent=False)
    from gallery.models import IllegalTransition

    with pytest.raises(IllegalTransition, match="licence terms"):
        clip.approve(by=None)
    client.post(submission.get_status_url(), {"action": "consent", "consent": "on"})
    clip = Clip.objects.get(pk=clip.pk)
    clip.approve(by=None)
    assert clip.status == Clip.Status.PUBLISHED


def test_owner_hears_of_publication_and_rejection_in_their_language(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        _, published = owned_clip(status=Clip.Status.PUBLISHED, language="fr")
        _, rejected = owned_clip(status=Clip.Status.REJECTED, language="en")
    subjects = sorted(m.subject for m in mail.outbox)
    assert any(published.title in s for s in subjects)
    rejection = next(m for m in mail.outbox if rejected.title in m.subject)
    assert "Out of focus" in rejection.body and "not accepted" in rejection.subject
    assert rejection.subject == f"Your clip “{rejected.title}” was not accepted"
    publication = next(m for m in mail.outbox if published.title in m.subject)
    assert publication.subject == said_in(
        "fr", "Your clip “%(title)s” is online", title=published.title
    )
    assert publication.body.startswith(said_in("fr", "Hello,") + "\n")
    assert f"/fr/clips/{published.pk}-" in publication.body


def test_terms_page(client, settings):
    response = client.get("/en/terms/")
    assert response.status_code == 200
    assert settings.TERMS_VERSION in response.content.decode()


BLURRED = {
    "en": "Other people’s faces and number plates in your clip are blurred before it is published.",
    "fr": "Les visages et les plaques d’immatriculation d’autres personnes dans votre vidéo sont "
    "floutés avant sa publication.",
    "de": "Gesichter und Kennzeichen anderer Personen in Ihrem Clip werden vor der "
    "Veröffentlichung unkenntlich gemacht.",
    "nl": "Gezichten en kentekens van andere mensen in uw clip worden vervaagd voordat hij wordt "
    "gepubliceerd.",
    "it": "I volti e le targhe di altre persone nella sua clip vengono sfocati prima della "
    "pubblicazione.",
    "es": "Las caras y las matrículas de otras personas en su vídeo se difuminan antes de "
    "publicarlo.",
}
AGREED = {
    "en": "our team noted that the people filmed agreed",
    "fr": "notre équipe a noté que les personnes filmées étaient d’accord",
    "de": "Unser Team hat festgehalten, dass die gefilmten Personen zugestimmt haben",
    "nl": "ons team heeft vastgelegd dat de gefilmde mensen toestemming gaven",
    "it": "il nostro team ha registrato che le persone riprese hanno acconsentito",
    "es": "nuestro equipo registró que las personas grabadas estaban de acuerdo",
}


@pytest.mark.parametrize("language", sorted(BLURRED))
def test_the_owner_reads_that_faces_and_plates_are_blurred_unless_staff_noted_consent(
    client, django_user_model, language
):
    submission, clip = owned_clip(status=Clip.Status.REVIEW)
    url = submission.get_status_url(language=language)
    html = client.get(url).content.decode()
    assert BLURRED[language] in html and AGREED[language] not in html

    staff = django_user_model.objects.create_user("moderator", is_staff=True)
    clip.set_blurring(False, by=staff, reason="Family, everyone agreed.")
    html = client.get(url).content.decode()
    assert AGREED[language] in html and BLURRED[language] not in html
    # Staff's own words stay with staff.
    assert "Family, everyone agreed." not in html


PUBLISHED_BLURRED = {
    "en": "Other people’s faces and number plates in your clip were blurred before it was "
    "published.",
    "fr": "Les visages et les plaques d’immatriculation d’autres personnes dans votre vidéo ont "
    "été floutés avant sa publication.",
    "de": "Gesichter und Kennzeichen anderer Personen in Ihrem Clip wurden vor der "
    "Veröffentlichung unkenntlich gemacht.",
    "nl": "Gezichten en kentekens van andere mensen in uw clip zijn vervaagd voordat hij werd "
    "gepubliceerd.",
    "it": "I volti e le targhe di altre persone nella sua clip sono stati sfocati prima della "
    "pubblicazione.",
    "es": "Las caras y las matrículas de otras personas en su vídeo se difuminaron antes de "
    "publicarlo.",
}


@pytest.mark.parametrize("language", sorted(PUBLISHED_BLURRED))
def test_once_published_the_page_says_faces_and_plates_were_blurred(client, language):
    submission, clip = owned_clip(status=Clip.Status.PUBLISHED)
    html = client.get(submission.get_status_url(language=language)).content.decode()
    assert PUBLISHED_BLURRED[language] in html
    assert BLURRED[language] not in html  # no longer "before it is published"


def test_the_consent_request_speaks_of_publishing_only_while_a_clip_may_be_published(
    client, settings
):
    before = "Before our team can publish your clip, please accept the licence terms."
    changed = "Our licence terms have changed: please read and accept them."
    waiting, _ = owned_clip(status=Clip.Status.REVIEW)
    published, _ = owned_clip(status=Clip.Status.PUBLISHED)
    rejected, _ = owned_clip(status=Clip.Status.REJECTED)
    settings.TERMS_VERSION = "2027-01"  # new terms: each owner is asked again, where it matters

    html = client.get(waiting.get_status_url()).content.decode()
    assert before in html and changed not in html
    html = client.get(published.get_status_url()).content.decode()
    assert changed in html and before not in html
    # Nothing of it can be published any more: nothing to accept.
    html = client.get(rejected.get_status_url()).content.decode()
    assert before not in html and changed not in html and 'name="consent"' not in html


def test_a_rejected_clip_is_not_said_to_show_the_cars_data_under_the_video(client):
    submission, clip = owned_clip(status=Clip.Status.REJECTED)
    Clip.objects.filter(pk=clip.pk).update(telemetry=[{"t": 0, "speed": 50}])
    html = client.get(submission.get_status_url()).content.decode()
    assert "under your video" not in html and "Show my car" not in html


def test_withdrawing_asks_in_words_true_of_the_clips_state(client):
    leaves = "will leave the site"
    never = "will never be published"
    for status, said, unsaid in [
        (Clip.Status.PUBLISHED, leaves, never),
        (Clip.Status.REVIEW, never, leaves),
        (Clip.Status.REJECTED, never, leaves),
    ]:
        submission, clip = owned_clip(status=status)
        html = client.post(
            submission.get_status_url(), {"action": "withdraw", "clip": clip.pk}
        ).content.decode()
        assert said in html and unsaid not in html and "cannot be undone" in html, status
