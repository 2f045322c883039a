import pytest

from tests.factories import make_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(client, sample_video, media_storage):
    """The published rendition's URL and its bytes as stored (not as served: the ranges below
    are compared with the file itself)."""
    clip = make_clip(video=sample_video)
    data = (media_storage / "public" / clip.video.name).read_bytes()
    return clip.video.url, data


def get(client, url, range_header):
    return client.get(url, headers={"Range": range_header})


def body(response):
    return b"".join(response.streaming_content)


def test_whole_file_advertises_ranges(client, video):
    url, data = video
    response = client.get(url)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert int(response["Content-Length"]) == len(data) > 10_000
    assert response.streaming and body(response) == data


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-1", 0, 1),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=-500", None, None),
        ("bytes=500-", 500, None),
    ],
)
def test_ranges_answer_206(client, video, header, start, end):
    url, data = video
    size = len(data)
    if start is None:  # suffix: the last 500 bytes
        start, end = size - 500, size - 1
    end = size - 1 if end is None else end
    response = get(client, url, header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert int(response["Content-Length"]) == end - start + 1
    assert body(response) == data[start : end + 1]


def test_range_past_the_end_is_clipped(client, video):
    url, data = video
    response = get(client, url, f"bytes=10-{len(data) * 2}")
    assert response.status_code == 206
    assert body(response) == data[10:]


@pytest.mark.parametrize(
    "header_for",
    [
        lambda size: f"bytes={size}-",
        lambda size: f"bytes={size + 100}-{size + 200}",
        lambda size: "bytes=-0",
    ],
)
def test_unsatisfiable_range_is_416(client, video, header_for):
    url, data = video
    response = get(client, url, header_for(len(data)))
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


def test_malformed_range_sends_the_whole_file(client, video):
    url, data = video
    response = get(client, url, "bytes=abc")
    assert response.status_code == 200 and body(response) == data


def test_head_and_conditional_get(client, video):
    url, data = video
    head = client.head(url)
    assert head.status_code == 200 and int(head["Content-Length"]) == len(data)
    again = client.get(url, headers={"If-None-Match": head["ETag"]})
    assert again.status_code == 304
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200


def test_published_media_is_cacheable(client, video):
    url, _ = video
    assert "immutable" in client.get(url)["Cache-Control"]


def test_a_file_missing_from_storage_is_404_not_500(client):
    from infra.storage import public_storage

    clip = make_clip()
    public_storage().delete(clip.video.name)  # lost, e.g. by a bad restore
    assert client.get(clip.video.url).status_code == 404
