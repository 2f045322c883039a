"""Uploads go straight to a temporary file on disk, and stop as soon as they pass the cap."""

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

# Room for the form's other fields and the multipart framing.
ENVELOPE = 1024 * 1024


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams every file to disk (never to memory) and refuses more than MAX_UPLOAD_BYTES.

    The view learns of a refusal from ``request.upload_too_large``.
    """

    # Larger reads than Django's 64 KiB make the multipart parser much faster on big files.
    chunk_size = 1024 * 1024

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        # A body declared larger than the cap is refused at its first file chunk.
        self.declared_too_large = bool(
            content_length and content_length > settings.MAX_UPLOAD_BYTES + ENVELOPE
        )

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.declared_too_large or self.received > settings.MAX_UPLOAD_BYTES:
            self.file.close()  # a NamedTemporaryFile: closing removes it
            self.request.upload_too_large = True
            # The rest of the body is read and dropped so the browser gets our answer.
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)
