from django.db import connection
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from infra.middleware import same_in_every_language
from infra.storage import private_storage, public_storage


@require_safe
def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = f"error: {type(error).__name__}"
    try:
        public_storage().exists("healthz-probe")
        private_storage().exists("healthz-probe")
        checks["storage"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["storage"] = f"error: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return same_in_every_language(
        JsonResponse(
            {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
        )
    )


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says (the admin names no icon)."""
    return same_in_every_language(HttpResponsePermanentRedirect(static("img/icon-48.png")))
