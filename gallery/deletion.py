"""A deleted clip's files: removed from both storages once no other row names them.

Clips made of one upload share its original, and public copies keep the private names
(infra/storage.py): a file goes only when no row of any model still names it. Rows are read
by app label, not imported: gallery/models.py calls in here, and the owners' app (raw
e-mails) is never imported by the gallery.
"""

import contextlib
import contextvars
import logging
import os
from pathlib import Path

from django.apps import apps
from django.core.files.storage import FileSystemStorage
from django.db import models, transaction
from django.db.models import Q

from infra.storage import private_storage, public_storage

log = logging.getLogger(__name__)

# Lists of stored names kept in JSON, beside the file fields every model declares.
NAMES_IN_JSON = [("gallery.Clip", "thumbnails"), ("gallery.ClipAngle", "originals")]
# Names looked up in one query: SQLite refuses an expression deeper than 1000 (the ORs).
NAMES_A_QUERY = 300

# The files of the clips deleted inside together() (names, folders), or None.
_together = contextvars.ContextVar("clip_files_together", default=None)


@contextlib.contextmanager
def together():
    """The clips deleted inside (the admin's "delete selected") have their files looked up
    and deleted together once the deletion commits: a few queries in all, not a dozen a clip."""
    if _together.get() is not None:  # an outer one deletes them
        yield
        return
    names, folders = [], []
    token = _together.set((names, folders))
    try:
        yield
    finally:
        _together.reset(token)
    if folders:
        transaction.on_commit(lambda: delete_unused(names, folders=folders), robust=True)


def delete_after_commit(names, folder):
    """A deleted clip's files (`names`, and its `folder`), deleted once the deletion commits."""
    batch = _together.get()
    if batch is not None:
        batch[0].extend(names)
        batch[1].append(folder)
        return
    transaction.on_commit(lambda: delete_unused(names, folders=[folder]), robust=True)


def names_in(value):
    """Every string inside a JSON value (a list of names, a list of thumbnail dicts)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from names_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from names_in(item)


def names_in_use(names):
    """Those of `names` that a row still names."""
    names = sorted(set(filter(None, names)))
    used = set()
    for start in range(0, len(names), NAMES_A_QUERY):
        used |= _names_in_use(set(names[start : start + NAMES_A_QUERY]))
    return used


def _names_in_use(names):
    used = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                rows = model._default_manager.filter(**{f"{field.name}__in": names})
                used |= set(rows.values_list(field.name, flat=True))
    for label, field in NAMES_IN_JSON:
        model = apps.get_model(label)
        # Narrowed in the database by text, then compared name by name.
        anywhere = Q()
        for name in names:
            anywhere |= Q(**{f"{field}__icontains": name})
        for value in model._default_manager.filter(anywhere).values_list(field, flat=True):
            used |= names & set(names_in(value))
    return used


def files_under(storage, folder):
    """Every file stored under `folder` (recursively); nothing when it does not exist."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    found = [f"{folder}/{name}" for name in files]
    for sub in folders:
        found += files_under(storage, f"{folder}/{sub}")
    return found


def delete_unused(names, *, folders=()):
    """Delete `names`, and whatever else lies in `folders` (deleted clips' own), from the
    private and the public storage: all but the files some row still names."""
    storages = [private_storage(), public_storage()]
    candidates = set(filter(None, names))
    for storage in storages:
        for folder in folders:
            candidates |= set(files_under(storage, folder))
    doomed = sorted(candidates - names_in_use(candidates))
    for storage in storages:
        for name in doomed:
            storage.delete(name)
        for folder in folders if isinstance(storage, FileSystemStorage) else ():
            remove_empty_folders(storage.path(folder))
    kept = len(candidates) - len(doomed)
    log.info("%s files deleted with their clip (%s kept: named elsewhere)", len(doomed), kept)
    return doomed


def prune_clip_folders(pk, names):
    """The folders of clip `pk` (under clips/<pk>/, that one included) left empty once `names`
    were deleted, removed from both storages' disks; never "clips/" or a storage's root, which
    other clips share. S3 has no folders to leave behind."""
    for storage in (private_storage(), public_storage()):
        if not isinstance(storage, FileSystemStorage):
            continue
        top = Path(storage.path(f"clips/{pk}"))
        for name in filter(None, names):
            folder = Path(storage.path(name)).parent
            while folder == top or top in folder.parents:
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass  # an earlier name's climb took it
                except OSError:
                    break  # not empty: a file some row still names, or a new render's
                folder = folder.parent


def remove_empty_folders(path):
    """The clip's folders on disk, once empty (S3 has no folders to leave behind)."""
    for root, _dirs, _files in os.walk(path, topdown=False):
        with contextlib.suppress(OSError):  # not empty: a file some row still names
            os.rmdir(root)
