import secrets

from django.conf import settings
from django.core import signing
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

STATUS_SALT = "submissions.status"


def new_token():
    return secrets.token_urlsafe(18)


class Submission(models.Model):
    """What an owner sent, with their private data: never shown to visitors."""

    class Source(models.TextChoices):
        WEB = "web", _("Web form")
        EMAIL = "email", _("E-mail")

    email = models.EmailField(_("e-mail"))
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="fr")
    source = models.CharField(max_length=8, choices=Source, default=Source.WEB)
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    consent_version = models.CharField(max_length=20, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")

    def __str__(self):
        return f"#{self.pk} ({self.get_source_display()}, {self.created_at:%Y-%m-%d})"

    def has_current_consent(self):
        return bool(self.consented_at) and self.consent_version == settings.TERMS_VERSION

    def give_consent(self):
        self.consent_version = settings.TERMS_VERSION
        self.consented_at = timezone.now()
        self.save(update_fields=["consent_version", "consented_at"])

    @property
    def signed_token(self):
        return signing.Signer(salt=STATUS_SALT).sign(self.token)

    @classmethod
    def from_signed_token(cls, value):
        """The submission a status link points at, or None for a forged or unknown link."""
        try:
            token = signing.Signer(salt=STATUS_SALT).unsign(value)
        except signing.BadSignature:
            return None
        return cls.objects.filter(token=token).first()

    def get_status_url(self, *, language=None):
        with translation.override(language or self.language):
            return reverse("submissions:status", kwargs={"token": self.signed_token})


class Throttle(models.Model):
    """One counted request for a rate limit (the key is a keyed hash of an address)."""

    scope = models.CharField(max_length=30)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "at"])]
