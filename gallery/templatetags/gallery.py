from django import template

register = template.Library()


@register.filter
def duration(seconds):
    """Seconds as m:ss (or h:mm:ss), the way players show it."""
    try:
        total = round(float(seconds))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
