"""Reading e-mails with the standard library alone: no database, no Django."""

import pytest

from submissions import guess, parse, unpack
from tests.factories import (
    SENDER,
    alternative_mail,
    apple_inline_mail,
    encoded_names_mail,
    forwarded_mail,
    mail_message,
)

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(200)  # only parsed here, never probed


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("Re: Fwd: TR: AW: WG: Fw: Mon clip", "Mon clip"),
        ("RE:RE: fwd:Balade", "Balade"),
        ("Re[2]: Sortie du dimanche", "Sortie du dimanche"),
        ("[Fwd: Notre week-end]", "Notre week-end"),
        ("Retour de vacances", "Retour de vacances"),  # "Re" inside a word stays
        ("", ""),
    ],
)
def test_titles_drop_reply_and_forward_prefixes_in_any_language_and_case(subject, title):
    assert parse.strip_subject_prefixes(subject) == title


def test_description_keeps_the_owners_words_only():
    text = (
        "Notre descente du col, tout en douceur.\n"
        "Merci pour la galerie !\n"
        "\n"
        "> quoted line\n"
        "Le mar. 3 nov. 2026 à 10:02, Équipe <clips@example.org> a écrit :\n"
        "> Bonjour,\n"
    )
    assert (
        parse.strip_quotes_and_signature(text)
        == "Notre descente du col, tout en douceur.\nMerci pour la galerie !"
    )


@pytest.mark.parametrize(
    "tail",
    [
        "-- \nCamille Martin\n06 12 34 56 78",
        "Sent from my iPhone",
        "Envoyé de mon iPhone",
        "Von meinem iPhone gesendet",
        "Verstuurd vanaf mijn iPhone",
        "Inviato da iPhone",
        "Enviado desde mi iPhone",
        "On Tue, Nov 3, 2026 at 10:02 AM Team <clips@example.org>\nwrote:\n> hi",
        "Am 03.11.2026 um 10:02 schrieb Team <clips@example.org>:\n> hallo",
        "Op di 3 nov. 2026 om 10:02 schreef Team <clips@example.org>:",
        "Il giorno mar 3 nov 2026 alle ore 10:02 Team ha scritto:",
        "El mar, 3 nov 2026 a las 10:02, Team (<clips@example.org>) escribió:",
        "-----Original Message-----\nFrom: Team\nSent: Tuesday",
        "From: Team <clips@example.org>\nSent: Tuesday, 3 November 2026 10:02",
        "---------- Forwarded message ---------\nFrom: Luc",
        "Best regards,\nCamille Martin\nLyon",
        "Cordialement,\nCamille",
        "Mit freundlichen Grüßen\nJürgen",
        "Met vriendelijke groet,\nBram",
        "Cordiali saluti\nLucia",
        "Saludos cordiales,\nAna",
        "Thanks,\n\nThe Gmail Team",
        "Sent via Bell Mobility's Text Messaging service.",
    ],
)
def test_signatures_quotes_and_forward_headers_are_cut(tail):
    assert parse.strip_quotes_and_signature(f"Ma balade.\n\n{tail}\nmore") == "Ma balade."


@pytest.mark.parametrize(
    "text",
    [
        "Our drive.\n- first stop: the lake\n- then the pass",
        "Regards from Paris: the ring road at night.\nSaludos desde Madrid",
        "Our drive.\nThanks!\nThe second half of the video is the descent, with the whole family.",
    ],
)
def test_the_owners_own_lines_are_kept(text):
    assert parse.strip_quotes_and_signature(text, signed="Lucas") == text


def test_html_becomes_safe_text_without_scripts_styles_or_quotes():
    text = parse.html_to_text(
        "<style>p{}</style><script>alert(1)</script><p>Bonjour &amp; <b>merci</b></p>"
        "<div>ligne<br>deux</div><blockquote>ancien</blockquote><img src=x onerror=alert(1)>"
    )
    assert text == "Bonjour & merci\n\nligne\ndeux"


@pytest.mark.parametrize(
    ("words", "language"),
    [
        ("Voici ma vidéo de la balade avec la voiture", "fr"),
        ("Here is my clip from the weekend with the car", "en"),
        ("Hier ist mein Video vom Wochenende mit dem Wagen", "de"),
        ("Hier is mijn video van het weekend met de auto", "nl"),
        ("Ecco il mio video del fine settimana con la macchina", "it"),
        ("Hola, aquí está mi vídeo del fin de semana con el coche", "es"),
        ("Model 3", ""),
    ],
)
def test_language_from_the_words(words, language):
    assert guess.language_from_words(words) == language


def test_language_prefers_content_language_then_words_then_accept_language():
    declared = mail_message(
        body="Here is my clip from the weekend", headers={"Content-Language": "nl-BE"}
    )
    assert parse.parse(declared.as_bytes()).language == "nl"
    worded = mail_message(
        body="Here is my clip from the weekend", headers={"Accept-Language": "de-DE"}
    )
    assert parse.parse(worded.as_bytes()).language == "en"
    hinted = mail_message(
        subject="IMG_0001", body="", headers={"Accept-Language": "pt-BR, it;q=0.8"}
    )
    assert parse.parse(hinted.as_bytes()).language == "it"
    assert parse.parse(mail_message(subject="IMG_0001", body="").as_bytes()).language == ""


@pytest.mark.parametrize(
    ("words", "themes"),
    [
        ("Accélération en autopilote", ("performance", "autopilot")),
        ("Beschleunigung am Wochenende", ("performance", "weekend")),
        ("Le pilotage un week-end", ("autopilot", "weekend")),
        ("Design et technologie", ("technology", "design")),
        ("Mon trajet", ()),
    ],
)
def test_themes_are_guessed_from_words_in_six_languages(words, themes):
    assert guess.guess_themes(words) == themes


@pytest.mark.parametrize(
    ("display_name", "address", "credit"),
    [
        ("Camille Martin", "cm@example.org", "Camille"),
        ("Zoé-Anne L.", "z@example.org", "Zoé-Anne"),
        ("", "jean.dupont@example.org", "Jean"),
        ("jean@example.org", "jean@example.org", "Jean"),
    ],
)
def test_credit_name_is_the_first_word_of_the_display_name_else_the_address(
    display_name, address, credit
):
    assert guess.credit_name(display_name, address) == credit


def test_a_real_message_is_read_whole():
    raw = alternative_mail(
        VIDEO,
        headers={
            "Authentication-Results": "mx.example.org; spf=pass smtp.mailfrom=example.org; "
            "dkim=fail (bad sig) header.d=x.org; dkim=pass header.d=example.org; "
            "dmarc=pass (p=none) header.from=example.org",
        },
    )
    parsed = parse.parse(raw)
    assert parsed.sender == "camille@example.org" and parsed.credit_name == "Camille"
    assert parsed.title == "Mon week-end en Model 3"
    assert parsed.description == "Le col de la Bonette ce dimanche, en Autopilot."
    assert parsed.themes == ("autopilot", "weekend")
    assert [(p.name, p.content_type, p.data) for p in parsed.parts] == [
        ("bonette.mp4", "video/mp4", VIDEO)
    ]
    assert parsed.authentication == parse.Authentication(spf="pass", dkim="pass", dmarc="pass")
    assert parsed.no_reply == "" and parsed.automatic == ""


def test_only_the_topmost_or_a_trusted_authentication_results_header_counts():
    raw = mail_message(headers={}).as_bytes()
    forged = b"Authentication-Results: evil.example; spf=pass; dkim=pass; dmarc=pass\r\n" + raw
    ours = (
        b"Authentication-Results: mx.example.org; spf=softfail; dkim=none; dmarc=fail\r\n" + forged
    )
    assert parse.parse(ours).authentication == parse.Authentication("softfail", "none", "fail")
    assert (
        parse.parse(forged, trusted_authserv_ids=["mx.example.org"]).authentication
        == parse.Authentication()
    )


def test_encoded_names_and_subjects_are_decoded():
    parsed = parse.parse(encoded_names_mail(VIDEO))
    assert parsed.subject == "AW: WG: Fahrt ins Grüne" and parsed.title == "Fahrt ins Grüne"
    assert parsed.parts[0].name == "Über die Brücke.mp4"
    assert parsed.parts[0].stem == "Über die Brücke"
    assert parsed.language == "de" and parsed.credit_name == "Jürgen"


def test_attachments_inside_forwarded_messages_are_found_but_their_text_is_not_the_description():
    parsed = parse.parse(forwarded_mail(VIDEO))
    assert [p.name for p in unpack.unpack(parsed.parts)] == ["samedi.mp4"]
    assert parsed.title == "Notre balade du week-end"
    assert parsed.description == "Je vous transfère la vidéo de mon ami."


def test_apple_mail_inline_video_is_an_attachment_and_both_text_parts_are_read():
    parsed = parse.parse(apple_inline_mail(VIDEO))
    assert [(p.name, p.content_type) for p in parsed.parts] == [("IMG_0420.MOV", "video/quicktime")]
    assert parsed.description == "Le 0-100 en vidéo"
    assert parsed.sender_name == "Zoé Lefèvre" and parsed.themes == ("performance",)


def test_a_message_without_message_id_gets_one_derived_from_its_checksum():
    raw = mail_message(message_id=False).as_bytes()
    summary = parse.summary(raw)
    assert summary.message_id == f"<{parse.sha256(raw)}@sha256.invalid>"
    assert parse.summary(b"\xff\xfe garbage \x00").message_id.endswith("@sha256.invalid>")


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, SENDER, "Auto-Submitted"),
        ({"Auto-Submitted": "auto-generated"}, SENDER, "Auto-Submitted"),
        ({"Precedence": "bulk"}, SENDER, "Precedence"),
        ({"Precedence": "junk"}, SENDER, "Precedence"),
        ({"List-Id": "<owners.example.org>"}, SENDER, "List-Id"),
        ({"List-Unsubscribe": "<mailto:u@example.org>"}, SENDER, "List-Unsubscribe"),
        ({"Return-Path": "<>"}, SENDER, "Return-Path"),
        ({}, "MAILER-DAEMON@mx.example.org", "mailer-daemon"),
        ({}, "postmaster@example.org", "postmaster"),
        ({}, "no-reply@example.org", "automatic sender"),
        ({}, "noreply@example.org", "automatic sender"),
    ],
)
def test_automatic_and_list_mail_gets_no_reply(headers, sender, reason):
    parsed = parse.parse(mail_message(sender=sender, headers=headers).as_bytes())
    assert reason.lower() in parsed.no_reply.lower()


def test_a_person_writing_auto_submitted_no_may_be_answered():
    parsed = parse.parse(
        mail_message(
            headers={"Auto-Submitted": "no", "Return-Path": "<camille@example.org>"}
        ).as_bytes()
    )
    assert parsed.no_reply == "" and parsed.automatic == ""


@pytest.mark.parametrize(
    ("body", "signed", "public"),
    [
        # The name on the body's last line, no blank line before it; the greeting; the link.
        (
            "Hi,\nThe file was too big, here it is:\nhttps://drive.google.com/file/d/1Ab/view\nPaul",
            "Paul",
            "The file was too big, here it is:",
        ),
        (
            "Bonjour,\n\nVoici une vidéo de notre balade au lac.\n\nJeanne",
            "Jeanne",
            "Voici une vidéo de notre balade au lac.",
        ),
        # A sharing service's chip: the file's name and its link on lines of their own.
        (
            "Une balade au lac.\n\n IMG_2291.MOV\n<https://drive.google.com/x>\n",
            "Camille",
            "Une balade au lac.",
        ),
        # A greeting inside a sentence is the owner's story: kept whole.
        (
            "Hello from Lyon! We drove to the Alps and back on one charge.",
            "Paul",
            "Hello from Lyon! We drove to the Alps and back on one charge.",
        ),
    ],
)
def test_greetings_links_and_a_signed_last_line_stay_out_of_the_public_description(
    body, signed, public
):
    assert parse.strip_quotes_and_signature(body, signed=signed) == public
