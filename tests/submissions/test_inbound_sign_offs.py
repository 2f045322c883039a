"""Endings of real owners' messages: a sign-off (a formula and a name, a phone's or an app's
line) is cut from the public description; a last line that is the owner's words stays, though
it begins with a word that also closes letters ("Love Paris", "Merci Tesla")."""

import pytest

from submissions import parse
from tests.factories import mail_message

STORY = {
    "en": "Our evening drive along the Seine, Autopilot all the way.",
    "fr": "Notre balade du soir le long de la Seine, en Autopilot.",
    "de": "Unsere Abendfahrt an der Elbe entlang, mit Autopilot.",
    "nl": "Onze avondrit langs de Maas, helemaal op Autopilot.",
    "it": "Il nostro giro serale lungo il Tevere, in Autopilot.",
    "es": "Nuestro paseo de noche junto al Guadalquivir, con Autopilot.",
}

# (language, ending, From): what mail clients and people put after the story.
SIGN_OFFS = [
    ("en", "Love,\nAnna", "Anna Smith <anna@example.org>"),
    ("en", "Love\nAnna", "Anna Smith <anna@example.org>"),
    ("en", "Love Anna", "Anna Smith <anna@example.org>"),
    ("en", "Cheers", "Paul <paul@example.org>"),
    ("en", "Cheers,\nPaul\n\nSent from Outlook for Android", "Paul <paul@example.org>"),
    ("en", "Sent from my iPhone", "Paul <paul@example.org>"),
    ("en", "Kind regards Paul Smith", "Paul Smith <paul@example.org>"),
    ("fr", "Envoyé de mon iPhone", "Camille Martin <camille@example.org>"),
    ("fr", "Bisous,\nCamille", "Camille Martin <camille@example.org>"),
    ("fr", "Merci !\nCamille", "Camille Martin <camille@example.org>"),
    ("fr", "Cordialement\nCamille Martin", "Camille Martin <camille@example.org>"),
    ("de", "LG Jürgen", "Jürgen Weber <juergen@example.de>"),
    ("de", "Liebe Grüße\nJürgen\n\nVon meinem iPhone gesendet", "Jürgen <juergen@example.de>"),
    ("de", "Danke, Jürgen", "Jürgen Weber <juergen@example.de>"),
    ("nl", "Groetjes,\nSanne", "Sanne de Vries <sanne@example.nl>"),
    ("nl", "Groeten Sanne", "Sanne de Vries <sanne@example.nl>"),
    ("nl", "Verzonden vanaf mijn iPhone", "Sanne de Vries <sanne@example.nl>"),
    ("it", "Ciao\nLucia\n\nInviato da iPhone", "Lucia Bianchi <lucia@example.it>"),
    ("it", "Cordiali saluti Lucia Bianchi", "Lucia Bianchi <lucia@example.it>"),
    ("es", "Un abrazo,\nAna", "Ana García <ana@example.es>"),
    ("es", "Saludos\n\nEnviado desde mi iPhone", "Ana García <ana@example.es>"),
]

# Last lines that are the owner's words: a place or a thanks after a closing word.
CONTENT_ENDINGS = [
    ("en", "Love Paris", "Anna Smith <anna@example.org>"),
    ("en", "Love Paris!", "Anna Smith <anna@example.org>"),
    ("en", "Thanks Tesla", "Paul <paul@example.org>"),
    ("en", "Cheers Cornwall", "Paul <paul@example.org>"),
    ("fr", "Merci Tesla", "Camille Martin <camille@example.org>"),
    ("fr", "Bisous Marseille", "Camille Martin <camille@example.org>"),
    ("de", "Danke Tesla", "Jürgen Weber <juergen@example.de>"),
    ("nl", "Bedankt Tesla", "Sanne de Vries <sanne@example.nl>"),
    ("it", "Ciao Roma", "Lucia Bianchi <lucia@example.it>"),
    ("it", "Grazie Tesla", "Lucia Bianchi <lucia@example.it>"),
    ("es", "Gracias Tesla", "Ana García <ana@example.es>"),
]


def described(language, ending, sender):
    body = f"{STORY[language]}\n{ending}\n"
    return parse.parse(mail_message(body=body, sender=sender).as_bytes()).description


@pytest.mark.parametrize(("language", "ending", "sender"), SIGN_OFFS)
def test_a_sign_off_is_not_the_description(language, ending, sender):
    assert described(language, ending, sender) == STORY[language]


@pytest.mark.parametrize(("language", "ending", "sender"), CONTENT_ENDINGS)
def test_a_last_line_of_the_owners_words_stays(language, ending, sender):
    assert described(language, ending, sender) == f"{STORY[language]}\n{ending}"


@pytest.mark.parametrize(("language", "ending", "sender"), CONTENT_ENDINGS)
def test_such_a_line_after_the_last_sentence_stays_too(language, ending, sender):
    body = f"{STORY[language]} {ending}\n"
    message = mail_message(body=body, sender=sender).as_bytes()
    assert parse.parse(message).description == f"{STORY[language]} {ending}"
