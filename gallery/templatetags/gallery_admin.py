from django import template

from gallery.models import Clip

register = template.Library()


@register.inclusion_tag("admin/includes/review_queue.html")
def review_queue():
    """How many clips wait for review, and since when the oldest has waited."""
    waiting = Clip.objects.filter(status=Clip.Status.REVIEW)
    oldest = (
        waiting.order_by("status_changed_at").values_list("status_changed_at", flat=True).first()
    )
    return {"count": waiting.count(), "oldest": oldest}
