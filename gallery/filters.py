from django import forms
from django.utils.translation import gettext_lazy as _

NEWEST, POPULAR = "newest", "popular"
ORDERS = [(NEWEST, _("Newest")), (POPULAR, _("Most watched"))]


class GalleryFilter(forms.Form):
    """The gallery's query string: repeated `theme` slugs and a page number."""

    theme = forms.MultipleChoiceField(label=_("Themes"), required=False)
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)
    order = forms.ChoiceField(label=_("Order"), choices=ORDERS, required=False)

    def __init__(self, data, *, themes):
        super().__init__(data)
        self.fields["theme"].choices = [(t.slug, t.label) for t in themes]

    def selected(self):
        """Valid slugs only: an unknown theme in a shared link is dropped, not an error."""
        known = {slug for slug, _label in self.fields["theme"].choices}
        return [slug for slug in self.data.getlist("theme") if slug in known]

    def page_number(self):
        return page_number(self.data)

    def selected_order(self):
        return gallery_order(self.data)


def page_number(query):
    """The page asked for in a query string; 1 when it is missing or makes no sense."""
    try:
        number = int(query.get("page"))
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 100_000 else 1


def gallery_order(query):
    """The order asked for in a query string: "popular", or "newest" for anything else."""
    return POPULAR if query.get("order") == POPULAR else NEWEST
