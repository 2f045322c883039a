"""Lock staff log-in after repeated failures, per account and per address."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import ngettext

from gallery.clients import client_ip
from gallery.models import LoginFailure


def is_locked(username, ip):
    since = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    recent = LoginFailure.objects.filter(at__gte=since)
    by_account = recent.filter(username__iexact=username or "").count()
    # An address gets more tries than an account, since several staff may share one.
    by_address = recent.filter(ip=ip).count() if ip else 0
    return (
        by_account >= settings.LOGIN_MAX_FAILURES or by_address >= settings.LOGIN_MAX_FAILURES * 4
    )


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs):
    LoginFailure.objects.create(
        username=(credentials.get("username") or "")[:150], ip=client_ip(request)
    )


def forget_old_failures():
    cutoff = timezone.now() - timedelta(days=1)
    return LoginFailure.objects.filter(Q(at__lt=cutoff)).delete()[0]


class LockoutBackend(ModelBackend):
    """Refuses even the right password while an account or address is locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and is_locked(username, client_ip(request)):
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username")
        if username and is_locked(username, client_ip(self.request)):
            minutes = settings.LOGIN_LOCKOUT_MINUTES
            raise forms.ValidationError(
                ngettext(
                    "Too many failed attempts. Please try again in %(minutes)d minute.",
                    "Too many failed attempts. Please try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="locked",
            )
        return super().clean()
