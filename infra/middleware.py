from django.conf import settings


def permissions_policy(get_response):
    """Send Permissions-Policy (Django's SecurityMiddleware has no setting for it)."""

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware
