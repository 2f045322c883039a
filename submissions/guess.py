"""What an owner's words suggest: the language they wrote in, themes, their first name.

No Django. The language comes from lingua (a maintained detector, restricted to the site's
six languages: about 40 MB of models, loaded on first use), with a word list for the
short messages it cannot tell.
"""

import functools
import re
import unicodedata

from lingua import Language, LanguageDetectorBuilder

LINGUA_CODES = {
    Language.FRENCH: "fr",
    Language.ENGLISH: "en",
    Language.GERMAN: "de",
    Language.DUTCH: "nl",
    Language.ITALIAN: "it",
    Language.SPANISH: "es",
}

# Short, common words that tell the languages apart (accents stripped); shared ones left out.
LANGUAGE_WORDS = {
    "fr": "le les et est une des pour avec dans mon mes voici je nous vous sur au aux pas "
    "bonjour merci cette qui ou tres voiture mais notre votre sont ai avons cordialement",
    "en": "the and this my with for of to on here hello hi thanks thank you our it an car "
    "from at was were have has just best regards",
    "de": "der die das und ist mit ein eine mein meine meinem fur hier ich wir auf von zu nicht "
    "hallo danke wagen beim im unser unsere viele gruss grusse gruessen auch sehr",
    "nl": "het een en met mijn voor ik wij op van niet bedankt dank onze dit deze naar bij "
    "groeten wel ook heel hallo",
    "it": "gli con per mio mia qui ecco io noi di del della non ciao grazie macchina sono "
    "questo questa nel alla che saluti anche molto",
    "es": "el los las y con para mi mis aqui yo nosotros hola gracias coche este esta "
    "muy saludos tambien",
}
_LANGUAGE_SETS = {code: set(words.split()) for code, words in LANGUAGE_WORDS.items()}


def _fold(text: str) -> str:
    """Lower case without accents, for matching words written either way."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def _detector():
    return LanguageDetectorBuilder.from_languages(*LINGUA_CODES).build()


# Addresses, links and file names are in no language, and their words (drive, google, view,
# file, IMG) would outvote a short message's own.
_NOT_WORDS = re.compile(
    r"<?\b(?:https?://|www\.)\S+|\S+@\S+|\S+\.[A-Za-z0-9]{2,4}\b", re.IGNORECASE
)


def language_from_words(text: str) -> str:
    """The language `text` is written in (one of the six), or "" when it cannot be told."""
    text = _NOT_WORDS.sub(" ", text)
    return _detected(text) or _counted(text)


def _detected(text: str) -> str:
    # Three words at least: on a file name or "Model 3" any detector guesses.
    if len(re.findall(r"[^\W\d_]{2,}", text)) < 3:
        return ""
    best, second = _detector().compute_language_confidence_values(text[:2000])[:2]
    if best.value >= 0.45 and best.value >= 2 * second.value:
        return LINGUA_CODES[best.language]
    return ""


def _counted(text: str) -> str:
    words = re.findall(r"[a-z]+", _fold(text))
    scores = {
        code: sum(1 for w in words if w in vocabulary)
        for code, vocabulary in _LANGUAGE_SETS.items()
    }
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_second, runner_up) = ranked[0], ranked[1]
    return best if top >= 2 and top > runner_up else ""


_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def credit_name(display_name: str, address: str) -> str:
    """The first word of the display name, else of the address's local part (capitalised)."""
    if "@" not in display_name:
        words = _NAME_WORD.findall(display_name)
        if words:
            return words[0][:60]
    words = _NAME_WORD.findall(address.split("@")[0])
    return words[0].capitalize()[:60] if words else ""


# Words and phrases (accents folded) that suggest a theme.
THEME_WORDS = {
    "performance": [
        "performance", "performances", "acceleration", "accelerations", "beschleunigung",
        "accelerazione", "aceleracion", "acceleratie", "0-100", "0 a 100", "0 100", "launch",
        "track day", "circuit", "rennstrecke", "prestazioni", "prestaciones", "prestaties",
        "leistung", "sprint", "drag race", "quart de mile",
    ],
    "autopilot": [
        "autopilot", "autopilote", "autopilota", "autopiloot", "piloto automatico",
        "pilotage automatique", "pilotage", "pilota automatico", "fsd", "full self-driving",
        "self-driving", "autosteer", "conduite autonome", "guida autonoma", "conduccion autonoma",
        "autonomes fahren", "zelfrijdend",
    ],
    "technology": [
        "technologie", "technology", "tecnologia", "techniek", "technik", "software", "logiciel",
        "mise a jour", "over-the-air", "firmware", "aggiornamento", "actualizacion",
        "supercharger", "superchargeur", "ecran", "touchscreen", "bildschirm", "schermo",
        "pantalla", "sentry mode", "mode sentinelle", "wachmodus",
    ],
    "weekend": [
        "week-end", "weekend", "weekends", "wochenende", "fine settimana", "fin de semana",
        "vacances", "vacation", "holiday", "holidays", "urlaub", "vacanze", "vacaciones",
        "vakantie", "road trip", "roadtrip", "balade", "ausflug", "gita", "excursion",
        "uitstapje", "dimanche", "samedi", "sunday", "saturday", "sonntag", "samstag", "domenica",
        "sabato", "domingo", "sabado", "zaterdag", "zondag",
    ],
    "design": [
        "design", "conception", "diseno", "ontwerp", "interieur", "interior", "interni",
        "innenraum", "carrosserie", "karosserie", "bodywork", "carrozzeria", "silhouette",
        "jantes", "felgen", "cerchi", "llantas", "velgen",
    ],
}  # fmt: skip

_THEME_PATTERNS = {
    slug: re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])")
    for slug, words in THEME_WORDS.items()
}


def guess_themes(text: str) -> tuple[str, ...]:
    folded = _fold(text)
    return tuple(slug for slug, pattern in _THEME_PATTERNS.items() if pattern.search(folded))
