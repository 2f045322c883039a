from django import template

register = template.Library()


@register.inclusion_tag("admin/includes/review_queue.html")
def review_queue():
    from gallery.admin import review_queue_summary

    return review_queue_summary()
