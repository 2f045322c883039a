import logging

from django.conf import settings
from django.contrib.sessions import middleware as sessions
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

log = logging.getLogger(__name__)


def permissions_policy(get_response):
    """Send Permissions-Policy (Django's SecurityMiddleware has no setting for it)."""

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware


def same_in_every_language(response):
    """Mark a response that does not depend on the visitor's language (a media file, the
    health check): it then carries no `Vary: Accept-Language` (see `language_free`)."""
    response.same_in_every_language = True
    return response


def language_free(get_response):
    """Take Accept-Language out of the Vary of responses marked `same_in_every_language`.

    LocaleMiddleware adds it to every response outside the language-prefixed URLs; on a
    video that would make caches keep one copy per visitor language. Listed before
    LocaleMiddleware, so that it sees the response after it.
    """

    def middleware(request):
        response = get_response(request)
        if getattr(response, "same_in_every_language", False) and response.has_header("Vary"):
            kept = [
                value.strip()
                for value in response["Vary"].split(",")
                if value.strip() and value.strip().lower() != "accept-language"
            ]
            if kept:
                response["Vary"] = ", ".join(kept)
            else:
                del response["Vary"]
        return response

    return middleware


class DatabaseAwayMiddleware:
    """A view that fails because the database is out of reach (a restart, a failover) answers
    503 with Retry-After and a branded page in the visitor's language, not a 500: pages kept
    in the cache are still served (infra.cache), the others come back within the minute."""

    RETRY_AFTER = 30  # seconds

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        return database_away(request, exception)


def database_away(request, error):
    """The 503 page with Retry-After, never cached, for a request the database failed."""
    log.warning("database unavailable: %s answered 503", request.path, exc_info=error)
    # Rendered without the request: its context processors may need the database.
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(DatabaseAwayMiddleware.RETRY_AFTER)
    add_never_cache_headers(response)
    return response


class SessionMiddleware(sessions.SessionMiddleware):
    """Django's, except that a session that cannot be saved because the database went away
    after the view ran (a restart) answers DatabaseAwayMiddleware's 503, not a 500. Its
    change is lost; the visitor is told to come back."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except (OperationalError, InterfaceError) as error:
            return database_away(request, error)
