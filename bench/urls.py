from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as site


def floor(request):
    """The least a Django view can do: the framework's own cost on this server."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("__floor__", floor), *site]
