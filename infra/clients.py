"""Who is asking: the client's address, behind as many proxies as we trust."""

from django.conf import settings


def client_ip(request):
    """REMOTE_ADDR, or with TRUSTED_PROXIES=N the address N hops back in X-Forwarded-For."""
    if request is None:
        return None
    hops = settings.TRUSTED_PROXIES
    if hops:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")
