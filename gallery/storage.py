"""Storage for what owners send (originals, raw e-mails): never served to visitors."""

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class PrivateStorage(LazyObject):
    """The "private" entry of STORAGES, looked up when first used (and again after tests change it)."""

    def _setup(self):
        self._wrapped = storages["private"]


private = PrivateStorage()


def private_storage():
    return private


@receiver(setting_changed)
def forget_storage(*, setting, **kwargs):
    if setting == "STORAGES":
        private._wrapped = empty
