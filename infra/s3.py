"""Read an S3 object as a seekable file, fetching only the byte ranges that are read."""

import io
from collections import OrderedDict

BLOCK = 1024 * 1024


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of one object; keeps a few recently read blocks."""

    def __init__(self, client, bucket, key, *, size=None, block=BLOCK, cache_blocks=16):
        super().__init__()
        self.client, self.bucket, self.key = client, bucket, key
        self.size = (
            size
            if size is not None
            else client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        )
        self.block, self.cache_blocks = block, cache_blocks
        self.position = 0
        self.cache = OrderedDict()
        self.fetched = 0  # bytes transferred, for the curious and for tests

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def _block(self, index):
        if index in self.cache:
            self.cache.move_to_end(index)
            return self.cache[index]
        start = index * self.block
        end = min(start + self.block, self.size) - 1
        body = self.client.get_object(
            Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end}"
        )["Body"]
        data = body.read()
        self.fetched += len(data)
        self.cache[index] = data
        if len(self.cache) > self.cache_blocks:
            self.cache.popitem(last=False)
        return data

    def read(self, size=-1):
        if self.position >= self.size:
            return b""
        if size is None or size < 0:
            size = self.size - self.position
        size = min(size, self.size - self.position)
        parts = []
        while size > 0:
            index, offset = divmod(self.position, self.block)
            chunk = self._block(index)[offset : offset + size]
            if not chunk:
                break
            parts.append(chunk)
            self.position += len(chunk)
            size -= len(chunk)
        return b"".join(parts)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
