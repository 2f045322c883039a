import logging

from django.tasks import task

from submissions import ingest

log = logging.getLogger(__name__)


@task
def process_inbound_email(inbound_id):
    """Turn a received e-mail into clips in processing (or record why not); answer the sender."""
    ingest.process(inbound_id)
