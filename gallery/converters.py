"""URL parts with one spelling each, so one page has one address (and one cache entry)."""

from django.urls import register_converter


class ClipIdConverter:
    """A clip id as Django writes it: no sign, no leading zero (`/clips/01/` is not found)."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(int(value))


register_converter(ClipIdConverter, "clip_id")
