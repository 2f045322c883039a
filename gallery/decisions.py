"""The moderation decisions, declared once.

Each entry of `DECISIONS` becomes an admin action (bulk), a button on the clip's review page
and a decision the review page's view accepts; `ClipAdmin` builds all three from this table,
as neapolitan's `Role` drives its views. Adding a decision is one entry here. The change of
status itself stays a `Clip` method: an entry only names it.
"""

import enum
from dataclasses import dataclass, field

from django import forms
from django.contrib import admin
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from gallery.models import Clip, RejectionReason


class Then(enum.Enum):
    """Where the moderator goes once a decision is taken."""

    NEXT_IN_QUEUE = "next"  # the decision ends the clip's review: open the next one
    SAME_CLIP = "same"


@dataclass(frozen=True, kw_only=True)
class Decision:
    name: str  # the action's name and the value the button posts
    method: str  # the Clip method, called with by= (and the reason when needed)
    label: Promise | str  # in the actions menu (and on the button unless `button` says)
    done: Promise | str  # after one clip, e.g. "Published."
    done_many: Promise | str  # after a bulk action: ngettext_lazy with a %d
    offered_from: frozenset  # statuses whose review page shows the button
    featured: bool | None = None  # and only when clip.featured is this, if set
    arguments: dict = field(default_factory=dict)  # fixed arguments for `method`
    needs_reason: bool = False  # asks for a DecisionForm (reason code and message)
    button: Promise | str = ""
    reason_title: Promise | str = ""  # title of the bulk page asking for the reason
    primary: bool = False
    then: Then = Then.SAME_CLIP
    key: str = ""  # the review page's keyboard key (listed under `?`); unique per status

    @property
    def button_label(self):
        return self.button or self.label

    def offered_for(self, clip):
        """Whether the clip's page shows this decision (the model still guards the change)."""
        return clip.status in self.offered_from and self.featured in (None, clip.featured)

    def apply(self, clip, *, by, reason=None):
        """Call the Clip method; IllegalTransition and ValueError come from the model."""
        getattr(clip, self.method)(**self.arguments, by=by, **(reason or {}))

    def done_message(self, count):
        return self.done_many % count

    def as_admin_action(self):
        """The bulk action for the clip list; the ModelAdmin does the asking and applying."""

        def action(modeladmin, request, queryset):
            return modeladmin.decide_many(request, queryset, self)

        action.__name__ = self.name
        return admin.action(description=self.label, permissions=["moderate"])(action)


Status = Clip.Status

DECISIONS = (
    Decision(
        name="approve",
        method="approve",
        label=_("Approve and publish"),
        done=_("Published."),
        done_many=ngettext_lazy("%d clip published.", "%d clips published."),
        offered_from=frozenset({Status.REVIEW}),
        primary=True,
        then=Then.NEXT_IN_QUEUE,
        key="a",
    ),
    Decision(
        name="approve_featured",
        method="approve_featured",
        label=_("Approve and feature"),
        done=_("Published and featured."),
        done_many=ngettext_lazy(
            "%d clip published and featured.", "%d clips published and featured."
        ),
        offered_from=frozenset({Status.REVIEW}),
        then=Then.NEXT_IN_QUEUE,
        key="f",
    ),
    Decision(
        name="reject",
        method="reject",
        label=_("Reject…"),
        button=_("Reject"),
        done=_("Rejected."),
        done_many=ngettext_lazy("%d clip rejected.", "%d clips rejected."),
        offered_from=frozenset({Status.REVIEW}),
        needs_reason=True,
        reason_title=_("Reject these clips"),
        then=Then.NEXT_IN_QUEUE,
        key="r",
    ),
    Decision(
        name="unpublish",
        method="unpublish",
        label=_("Unpublish…"),
        button=_("Unpublish"),
        done=_("Unpublished."),
        done_many=ngettext_lazy("%d clip unpublished.", "%d clips unpublished."),
        offered_from=frozenset({Status.PUBLISHED}),
        needs_reason=True,
        reason_title=_("Unpublish these clips"),
        key="u",
    ),
    Decision(
        name="feature",
        method="set_featured",
        arguments={"featured": True},
        label=_("Feature"),
        done=_("Featured."),
        done_many=ngettext_lazy("%d clip featured.", "%d clips featured."),
        offered_from=frozenset({Status.PUBLISHED}),
        featured=False,
        key="f",
    ),
    Decision(
        name="unfeature",
        method="set_featured",
        arguments={"featured": False},
        label=_("Stop featuring"),
        done=_("No longer featured."),
        done_many=ngettext_lazy("%d clip no longer featured.", "%d clips no longer featured."),
        offered_from=frozenset({Status.PUBLISHED}),
        featured=True,
        key="f",
    ),
    Decision(
        name="retry",
        method="retry",
        label=_("Retry processing"),
        done=_("Sent back to processing."),
        done_many=ngettext_lazy(
            "%d clip sent back to processing.", "%d clips sent back to processing."
        ),
        offered_from=frozenset({Status.FAILED}),
        key="p",
    ),
)


class DecisionForm(forms.Form):
    """What a moderator says when refusing or unpublishing a clip."""

    reason_code = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *RejectionReason.choices], required=False
    )
    reason = forms.CharField(
        label=_("Message to the owner"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional with a listed reason; required with “Another reason”."),
    )

    def clean(self):
        data = super().clean()
        if not data.get("reason", "").strip():
            # Beside the message: writing one is how to fix it, and the choice stays.
            if data.get("reason_code") == RejectionReason.OTHER:
                self.add_error(
                    "reason", gettext("“Another reason” needs a message: write it here.")
                )
            elif not data.get("reason_code"):
                self.add_error("reason", gettext("Choose a reason or write one."))
        return data
