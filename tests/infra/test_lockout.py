"""Staff log-in lock-out through django-axes: locked after the configured failures, open
again after the cool-off, and its records stay bounded."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"


@pytest.fixture
def staff(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return User.objects.create_user("mona", password=PASSWORD, is_staff=True)


def log_in(client, password, username="mona"):
    return client.post("/admin/login/", {"username": username, "password": password})


def fail(client, times, username="mona"):
    for _ in range(times):
        log_in(client, "wrong", username)


def signed_in(client):
    return "_auth_user_id" in client.session


def test_locked_after_the_configured_failures_even_with_the_right_password(staff):
    client = Client(headers={"Accept-Language": "en"})
    fail(client, 2)
    fail(client, 1)
    refused = log_in(client, PASSWORD)
    page = refused.content.decode()
    assert "Too many failed attempts. Please try again in 15 minutes." in page
    assert not signed_in(client)
    # The same address is refused in another browser too: the lock is on account and address.
    same_address = Client()
    log_in(same_address, PASSWORD)
    assert not signed_in(same_address)


def test_a_moderator_locked_from_one_address_still_logs_in_from_their_own(staff):
    """Failures for a moderator's name from an attacker's address lock that pair only: the
    moderator, at their usual address, is not locked out (nor is the attacker, for others)."""
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    fail(attacker, 10)
    log_in(attacker, PASSWORD)
    assert not signed_in(attacker)
    moderator = Client(REMOTE_ADDR="198.51.100.20", headers={"Accept-Language": "en"})
    answer = log_in(moderator, PASSWORD)
    assert answer.status_code == 302 and signed_in(moderator)
    # Their own failures from their address still count on their own.
    fail(Client(REMOTE_ADDR="198.51.100.20"), 2)
    assert log_in(Client(REMOTE_ADDR="198.51.100.20"), PASSWORD).status_code == 302


def test_fewer_failures_than_the_limit_do_not_lock(staff):
    client = Client()
    fail(client, 2)
    assert log_in(client, PASSWORD).status_code == 302 and signed_in(client)


def test_unlocked_once_the_cool_off_is_over(staff):
    client = Client()
    fail(client, 3)
    log_in(client, PASSWORD)
    assert not signed_in(client)
    # Fifteen minutes and a second later (the records say so; nobody waits).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert log_in(client, PASSWORD).status_code == 302 and signed_in(client)


def test_records_are_bounded(staff):
    client = Client()
    fail(client, 3)
    size = len(AccessAttempt.objects.get().post_data)
    # Hammering a locked account adds nothing and does not extend the lock.
    fail(client, 30)
    attempt = AccessAttempt.objects.get()
    assert attempt.failures_since_start == 3 and len(attempt.post_data) == size
    # Once the cool-off is over, the next failure anywhere clears the old records.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    fail(Client(REMOTE_ADDR="198.51.100.7"), 1, username="someone-else")
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["someone-else"]
    # A successful log-in clears its own failures and is not logged.
    other = Client(REMOTE_ADDR="198.51.100.8")
    fail(other, 1)
    assert log_in(other, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="mona").exists()
    assert AccessLog.objects.count() == 0


def test_behind_the_load_balancer_each_client_address_counts_on_its_own(staff, settings):
    # Every request comes from the balancer (REMOTE_ADDR); the client is in X-Forwarded-For.
    settings.TRUSTED_PROXIES = 1
    for number in range(3):
        guesser = Client(HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
        fail(guesser, 1, username=f"guess{number}")
    recorded = set(AccessAttempt.objects.values_list("ip_address", flat=True))
    assert recorded == {"10.0.0.0", "10.0.0.1", "10.0.0.2"}
    # Three failures through the balancer did not lock the balancer out for all staff.
    colleague = Client(HTTP_X_FORWARDED_FOR="10.0.0.9")
    assert log_in(colleague, PASSWORD).status_code == 302
