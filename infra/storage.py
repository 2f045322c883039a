"""Where media live: public storage for published clips, private storage for everything else.

Processing writes renditions to private storage; approval copies them to public storage and
unpublishing deletes the public copies, so nothing unpublished is ever publicly reachable.
Private files are reached only through short-lived signed links: presigned URLs on S3, and
on local disk links signed the same way, checked by the media view.
"""

import mimetypes
import os
import shutil
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

SIGNATURE_SALT = "gallery.private-media"


class PrivateStorage(LazyObject):
    """The "private" entry of STORAGES, looked up when first used (and again after tests
    change it)."""

    def _setup(self):
        self._wrapped = storages["private"]


private = PrivateStorage()


def private_storage():
    return private


def public_storage():
    return storages["default"]


@receiver(setting_changed)
def forget_storage(*, setting, **kwargs):
    if setting == "STORAGES":
        private._wrapped = empty


class SignedFileSystemStorage(FileSystemStorage):
    """Local private storage whose URLs carry an expiring signature, like S3 presigned URLs."""

    def url(self, name):
        signature = signing.TimestampSigner(salt=SIGNATURE_SALT).sign(name).rsplit(":", 2)
        return f"{super().url(name)}?exp={signature[1]}&sig={quote(signature[2])}"


def signature_is_valid(name, timestamp, signature):
    value = f"{name}:{timestamp}:{signature}"
    try:
        signing.TimestampSigner(salt=SIGNATURE_SALT).unsign(
            value, max_age=settings.PRIVATE_MEDIA_URL_SECONDS
        )
    except signing.BadSignature:
        return False
    return True


def is_s3(storage):
    return hasattr(storage, "bucket_name")


def copy_file(source, target, name):
    """Copy `name` from one storage to another under the same name, server-side where possible."""
    if is_s3(source) and is_s3(target):
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        # REPLACE: the public copy gets its own type and cache headers, not the source's.
        extra = target.get_object_parameters(name) | {
            "ContentType": content_type,
            "MetadataDirective": "REPLACE",
        }
        if target.default_acl:
            extra["ACL"] = target.default_acl
        target.connection.meta.client.copy(
            {"Bucket": source.bucket_name, "Key": source._normalize_name(name)},
            target.bucket_name,
            target._normalize_name(name),
            ExtraArgs=extra,
        )
        return
    if isinstance(source, FileSystemStorage) and isinstance(target, FileSystemStorage):
        destination = target.path(name)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        try:
            os.link(source.path(name), destination)  # same disk: no copy at all
        except FileExistsError:
            pass
        except OSError:
            shutil.copyfile(source.path(name), destination)
        return
    if target.exists(name):
        target.delete(name)
    with source.open(name, "rb") as fh:
        target.save(name, fh)


def publish_files(names):
    """Make these private media public (on approval)."""
    public = public_storage()
    for name in names:
        copy_file(storages["private"], public, name)


def unpublish_files(names):
    """Remove the public copies (on unpublishing, withdrawal, purge)."""
    public = public_storage()
    for name in names:
        public.delete(name)
