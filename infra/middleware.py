import logging

from django.conf import settings
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
        log.warning("database unavailable: %s answered 503", request.path, exc_info=exception)
        # Rendered without the request: its context processors may need the database.
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(self.RETRY_AFTER)
        add_never_cache_headers(response)
        return response
