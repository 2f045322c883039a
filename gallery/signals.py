"""Signals the gallery sends, so that other parts of the site react without being imported.

``clip_published``, ``clip_rejected`` and ``clip_withdrawn`` are sent when a clip's fate is
decided, after the transition is saved, with ``clip`` and ``by`` (the staff user, or None
for the owner or the system); ``clip_rejected`` also carries ``reason``. The owners' app
turns them into e-mails.

``catalogue_changed`` is sent whenever something a visitor can see changes: a transition to
or from ``published`` (publish, unpublish, withdrawal of a published clip), featuring, and
edits of published clips, their themes or captions, or of a theme (gallery/pages.py sends
those). ``sender`` is the model that changed. The page cache listens and retires its pages.

``processing_requested`` is sent with ``clip`` when a clip goes (back) to processing; the
task module queues ``process_clip`` once the transaction commits. ``rendering_requested``
is sent with ``clip`` and ``detect`` when staff changed what is blurred; the task module
queues ``render_clip``, which makes the outputs again from the original.
"""

from django.dispatch import Signal

clip_published = Signal()
clip_rejected = Signal()
clip_withdrawn = Signal()
catalogue_changed = Signal()
processing_requested = Signal()
rendering_requested = Signal()
