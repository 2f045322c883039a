"""The closing formula of an e-mail is no part of the public clip description, in any of
the six languages; a sentence that merely holds such a word is the owner's and stays."""

import pytest

from submissions import parse

STORY = {
    "nl": "Hierbij mijn filmpje van de rit naar huis.",
    "fr": "Voici ma vidéo du retour par le col, de nuit.",
    "de": "Hier ist mein Video von der Fahrt durch den Schwarzwald.",
    "it": "Ecco il video del nostro giro sul lago di Como.",
    "es": "Aquí está el vídeo de nuestro viaje a Sevilla.",
    "en": "Here is my clip of the drive home over the moors.",
}

# (language, body, signed name): the public description must be the story alone.
SIGNED_BODIES = [
    ("nl", "Hallo,\n{story}\nGroeten,\nJan", "Jan"),
    ("nl", "Hallo,\n{story}\nGroeten\nJan", "Jan"),
    ("nl", "Hoi,\n\n{story}\n\nGroetjes, Jan", "Jan"),
    ("nl", "{story}\n\nMet vriendelijke groet\n\nJan de Vries\n06 12345678", "Jan"),
    ("nl", "{story}\nMvg,\nJan", "Jan"),
    ("nl", "{story} Groeten, Jan", "Jan"),
    ("nl", "{story}\nBedankt!\nJan", "Jan"),
    ("fr", "Bonjour,\n{story}\nCordialement,\nCamille", "Camille"),
    ("fr", "{story}\n\nBien à vous,\nCamille Martin", "Camille"),
    ("fr", "Coucou !\n{story}\nBisous\nCamille", "Camille"),
    ("fr", "{story}\nAmitiés, Camille", "Camille"),
    ("fr", "{story}\nMerci !\n\nCamille", "Camille"),
    ("fr", "{story}\nÀ bientôt", "Camille"),
    ("de", "Hallo,\n{story}\nMit freundlichen Grüßen\nJürgen Weber", "Jürgen"),
    ("de", "{story}\n\nViele Grüße\nJürgen", "Jürgen"),
    ("de", "{story}\nLG Jürgen", "Jürgen"),
    ("de", "{story}\nLG\nJürgen", "Jürgen"),
    ("de", "{story}\nGruß, Jürgen", "Jürgen"),
    ("de", "{story}\nLiebe Grüsse\n\nJürgen\n\nVon meinem Samsung Galaxy Smartphone gesendet", ""),
    ("it", "Ciao,\n{story}\nSaluti\nLucia", "Lucia"),
    ("it", "{story}\n\nCordiali saluti,\nLucia Bianchi", "Lucia"),
    ("it", "{story}\nUn saluto, Lucia", "Lucia"),
    ("it", "{story}\nGrazie mille!\nLucia", "Lucia"),
    ("it", "{story}\nCiao\nLucia\n\nInviato da iPhone", "Lucia"),
    ("es", "Hola,\n{story}\nSaludos,\nAna", "Ana"),
    ("es", "{story}\n\nUn abrazo\nAna García", "Ana"),
    ("es", "{story}\nUn saludo, Ana", "Ana"),
    ("es", "{story}\nMuchas gracias\n\nAna\nEnviado desde mi iPhone", "Ana"),
    ("en", "Hi,\n{story}\nBest regards,\nPaul Smith", "Paul"),
    ("en", "{story}\n\nCheers,\nPaul", "Paul"),
    ("en", "{story}\nCheers Paul", "Paul"),
    ("en", "{story}\nThanks,\nPaul\n\nSent from my iPhone", "Paul"),
    ("en", "{story}\nThanks", "Paul"),
    ("en", "{story}\n\nAll the best,\nPaul\n+44 7700 900123", "Paul"),
    ("en", "{story}\nRegards", ""),
    # A phone or app's line, alone.
    ("de", "{story}\n\nVon meinem Samsung Galaxy Smartphone gesendet", ""),
    ("en", "{story}\n\nSent from Yahoo Mail for Android", ""),
    ("fr", "{story}\n\nEnvoyé à partir de Outlook pour Android", ""),
]


@pytest.mark.parametrize(
    ("language", "body", "signed"),
    SIGNED_BODIES,
    ids=[f"{language}-{number}" for number, (language, _b, _s) in enumerate(SIGNED_BODIES)],
)
def test_the_closing_formula_and_the_name_are_not_the_description(language, body, signed):
    story = STORY[language]
    described = parse.strip_quotes_and_signature(body.format(story=story), signed=signed)
    assert described == story


# The owner's words: a valediction's word inside a sentence, or a line of it in the middle of
# the story, is kept; so is a last line that is a sentence, not a formula and a name.
KEPT = [
    "Groeten uit Zeeland: de Oosterscheldekering bij zonsondergang.",
    "Op de terugweg zwaaiden de kinderen: groeten aan iedereen die het filmpje ziet!",
    "Un grand merci à Tesla pour l'Autopilot.\nBisous à ma sœur qui filme depuis la banquette.",
    "Cordialement accueillis au Superchargeur de Beaune, nous avons filmé la recharge.",
    "Wir haben viele Grüße von anderen Fahrern auf dem Parkplatz bekommen.\nDanke an alle!",
    "Saluti dal lago di Garda: il giro completo in Model 3.",
    "Abbiamo detto ciao a tutti e siamo partiti.\nCiao\nPoi la discesa verso Bellagio, bellissima.",
    "Saludos desde Madrid",
    "Un abrazo enorme a los del club, que nos acompañaron hasta Toledo en caravana.",
    "Our drive.\nThanks!\nThe second half is the descent.",
    "Il ritorno.\nCiao\npoi la discesa verso Bellagio al tramonto",
    "We left at dawn.\nCheers\nthen the long climb up to the pass",
    "Thanks for watching the whole trip, it was long.",
    "Best trip of the year: the North Coast 500.\nCheers to the chargers that worked.",
]


@pytest.mark.parametrize("text", KEPT)
def test_a_sentence_that_holds_such_a_word_is_kept(text):
    assert parse.strip_quotes_and_signature(text, signed="Jan") == text


def test_the_reported_message_reaches_the_public_description_without_its_sign_off():
    raw = (
        b"From: Jan Jansen <jan@example.nl>\r\nTo: clips@example.org\r\n"
        b"Subject: Rit naar huis\r\nMessage-ID: <rit@example.nl>\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n\r\n'
        b"Hallo,\r\nHierbij mijn filmpje van de rit naar huis.\r\nGroeten,\r\nJan\r\n"
    )
    assert parse.parse(raw).description == "Hierbij mijn filmpje van de rit naar huis."
