"""Signals sent when a clip's fate is decided, so other apps can tell the owner.

Each is sent after the transition is saved, with ``clip`` and ``by`` (the staff user, or
None for the owner or the system); ``clip_rejected`` also carries ``reason``.
"""

from django.dispatch import Signal

clip_published = Signal()
clip_rejected = Signal()
clip_withdrawn = Signal()
