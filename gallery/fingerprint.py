"""Has this clip been sent before? Exact copies by the original's SHA-256, near copies
(re-encoded, resized, trimmed) by perceptual hashes of frames sampled through the clip.

The hashing functions take files and return plain values (no Django); `find_duplicate`
compares a processed clip with the earlier ones and records the best match on the clip.
"""

import hashlib

import av
import imagehash

from gallery import media
from gallery.models import Clip

# A frame is sampled every SAMPLE_SECONDS of the clip, at most MAX_SAMPLES of them.
SAMPLE_SECONDS = 0.5
MAX_SAMPLES = 240
# Two frames are "the same picture" within this many differing bits of their 64-bit pHash.
FRAME_DISTANCE = 8
# ...and their colour hashes (42 bits) within this many.
COLOUR_DISTANCE = 4
# A clip is a near-duplicate when this share of its sampled frames is found in the other.
NEAR_SIMILARITY = 0.8
# Earlier clips compared with a new one: the most recent, to bound the work.
COMPARED_CLIPS = 5000


def sha256_of(path, chunk=1024 * 1024):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def frame_hashes(path):
    """Perceptual hashes (hex) of frames taken every SAMPLE_SECONDS, in order."""
    hashes = []
    with av.open(str(path)) as container:
        if not container.streams.video:
            return hashes
        stream = container.streams.video[0]
        media.limit_decoder_threads(stream)
        next_at = 0.0
        for frame in container.decode(stream):
            if frame.time is None or frame.time + 1e-6 < next_at:
                continue
            # pHash sees the shapes (grey); the colour hash tells apart the same shapes in
            # other colours. Both only need a small picture.
            picture = frame.to_image(width=64, height=64)
            hashes.append(f"{imagehash.phash(picture)}:{imagehash.colorhash(picture, binbits=3)}")
            # On a fixed grid (0, 0.5, 1.0 s...), so that copies cut at a whole sample
            # are sampled at the same moments; a phase that drifted would never line up.
            next_at = (int(frame.time / SAMPLE_SECONDS + 1e-6) + 1) * SAMPLE_SECONDS
            if len(hashes) >= MAX_SAMPLES:
                break
    return hashes


def similarity(ours, theirs):
    """How much of one clip is found in the other, in the same order: at the best shift in
    time, the share of overlapping samples that show the same picture (1.0: all of them).

    The overlap must cover at least half of the shorter clip, so a few similar frames (a
    dark first frame, a sky) do not make two clips alike."""
    if not ours or not theirs:
        return 0.0
    mine, other = [_unpack(h) for h in ours], [_unpack(h) for h in theirs]
    least = max(2, min(len(mine), len(other)) // 2)
    best = 0.0
    for shift in range(-len(mine) + 1, len(other)):
        pairs = [(h, other[i + shift]) for i, h in enumerate(mine) if 0 <= i + shift < len(other)]
        if len(pairs) < least:
            continue
        same = sum(1 for a, b in pairs if _same_picture(a, b))
        best = max(best, same / len(pairs))
    return best


def _unpack(sample):
    # The hex strings are the hashes' bits: as integers, the Hamming distance is a popcount
    # of their XOR, far cheaper than comparing ImageHash objects.
    shapes, _, colours = sample.partition(":")
    return int(shapes, 16), int(colours or "0", 16)


def _same_picture(a, b):
    return (a[0] ^ b[0]).bit_count() <= FRAME_DISTANCE and (
        a[1] ^ b[1]
    ).bit_count() <= COLOUR_DISTANCE


def find_duplicate(clip):
    """Link the clip to the earlier clip it copies, exactly or nearly; return that clip."""
    earlier = (
        Clip.objects.exclude(status=Clip.Status.WITHDRAWN).filter(pk__lt=clip.pk).order_by("-pk")
    )
    if clip.original_sha256:
        same = earlier.filter(original_sha256=clip.original_sha256).last()
        if same is not None:
            return link(clip, same, 1.0)
    best, best_score = None, 0.0
    candidates = earlier.exclude(fingerprint=[]).values_list("pk", "fingerprint")
    for pk, hashes in candidates[:COMPARED_CLIPS]:
        score = similarity(clip.fingerprint, hashes)
        if score > best_score:
            best, best_score = pk, score
    if best is not None and best_score >= NEAR_SIMILARITY:
        return link(clip, Clip.objects.get(pk=best), best_score)
    return None


def link(clip, original, score):
    Clip.objects.filter(pk=clip.pk).update(duplicate_of=original, duplicate_score=score)
    clip.duplicate_of, clip.duplicate_score = original, score
    return original
