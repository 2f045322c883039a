"""What the submissions models announce; the layers above them listen.

The models never import the tasks that act on them (tasks import the models): they send
these signals instead, and tasks.py connects the receivers.
"""

from django.dispatch import Signal

# An InboundEmail waits for processing: sent once its record is committed, with `inbound_id`.
inbound_email_waiting = Signal()
