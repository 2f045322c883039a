from django.urls import path

from submissions import views

app_name = "submissions"

urlpatterns = [
    path("submit/", views.submit, name="submit"),
    path("submit/thanks/", views.thanks, name="thanks"),
    path("submit/upload/", views.presign_upload, name="presign"),
    path("submit/<str:token>/", views.personal, name="personal"),
    path("my/<str:token>/", views.status, name="status"),
    path("terms/", views.terms, name="terms"),
]
