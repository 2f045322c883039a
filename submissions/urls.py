from django.urls import path

from submissions import tus, views

app_name = "submissions"

urlpatterns = [
    path("submit/", views.submit, name="submit"),
    path("submit/thanks/", views.thanks, name="thanks"),
    path("submit/tus/", tus.collection, name="tus"),
    path("submit/tus/<str:upload_id>/", tus.upload, name="tus-upload"),
    path("submit/direct/", views.direct_start, name="direct-start"),
    path("submit/direct/parts/", views.direct_parts, name="direct-parts"),
    path("submit/direct/complete/", views.direct_complete, name="direct-complete"),
    path("submit/direct/abort/", views.direct_abort, name="direct-abort"),
    path("submit/<str:token>/", views.personal, name="personal"),
    path("my/<str:token>/", views.status, name="status"),
    path("terms/", views.terms, name="terms"),
]
