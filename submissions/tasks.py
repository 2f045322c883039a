"""Work outside the request. Tasks import the models; the models announce (signals.py)."""

from django.dispatch import receiver
from django.tasks import task

from submissions import process, signals


@task
def process_inbound_email(inbound_id):
    """Turn a received e-mail into clips in processing (or record why not); answer the sender."""
    process.process(inbound_id)


@receiver(signals.inbound_email_waiting)
def queue_inbound_email(sender, inbound_id, **kwargs):
    process_inbound_email.enqueue(inbound_id)
