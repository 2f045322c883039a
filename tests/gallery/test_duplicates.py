"""Clips sent before are found for staff: the same file, or the same pictures re-encoded."""

import re
from fractions import Fraction

import av
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from gallery.models import Clip
from gallery.synth import synthesize
from tests.factories import make_clip

pytestmark = pytest.mark.django_db


def reencoded(source, target, *, trim=2.0, width=480, height=270, crf=30):
    """What a phone's share sheet makes of a clip: cut at the start, smaller, recompressed."""
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": str(crf), "preset": "fast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        count = 0
        for frame in inp.decode(video=0):
            if frame.time < trim - 1e-6:
                continue
            picture = frame.reformat(width=width, height=height, format="yuv420p")
            picture.pts, picture.time_base = count, Fraction(1, 25)
            count += 1
            for packet in stream.encode(picture):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return target


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dup")
    first = synthesize(folder / "first.mp4", seconds=8, width=640, height=360, seed=3)
    return {
        "first": first,
        "copy": reencoded(first, folder / "copy.mp4"),
        "others": [
            synthesize(folder / f"other{seed}.mp4", seconds=8, width=640, height=360, seed=seed)
            for seed in range(10, 20)
        ],
    }


def test_the_same_file_and_a_reencoded_trimmed_copy_point_to_the_first(videos):
    first = make_clip(status=Clip.Status.REVIEW, video=videos["first"], title="First")
    unrelated = [make_clip(status=Clip.Status.REVIEW, video=v) for v in videos["others"]]
    again = make_clip(status=Clip.Status.REVIEW, video=videos["first"], title="Again")
    copy = make_clip(status=Clip.Status.REVIEW, video=videos["copy"], title="Copy")

    assert (again.duplicate_of, again.duplicate_score) == (first, 1.0)
    assert again.original_sha256 == first.original_sha256
    assert copy.duplicate_of in (first, again) and copy.duplicate_score >= 0.8
    assert copy.original_sha256 != first.original_sha256
    first.refresh_from_db()
    assert first.duplicate_of is None
    for clip in unrelated:
        clip.refresh_from_db()
        assert clip.duplicate_of is None, (clip.pk, clip.duplicate_score)

    # Staff see it on the clip's page: the earlier clip, the score and both posters.
    user = User.objects.create_user("mona", password="x-secret-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    staff = Client(headers={"Accept-Language": "en"})
    staff.force_login(user)
    html = staff.get(f"/admin/gallery/clip/{copy.pk}/change/").content.decode()
    assert "Looks like an earlier clip" in html
    assert re.search(r"Similarity: (8\d|9\d|100) %", html)
    assert f'data-duplicate-of="{copy.duplicate_of.pk}"' in html
    assert len(re.findall(r'<figure><img src="[^"]+sig=', html)) == 2
    html = staff.get(f"/admin/gallery/clip/{again.pk}/change/").content.decode()
    assert "Same file as an earlier clip" in html and "Similarity: 100 %" in html
