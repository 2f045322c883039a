import io
from pathlib import Path

from django import forms
from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from gallery import media
from gallery.models import EuropeanCountries, Theme
from gallery.processing import media_error_message, probe_limits
from infra.storage import private_storage
from submissions import dashcam, direct, notifications, probe, unpack
from submissions.models import ClipDraft, Submission
from submissions.receive import store_original


class ThemeChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, theme):
        return theme.label


class SubmissionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    themes = ThemeChoiceField(
        label=_("Themes"),
        queryset=Theme.objects.all(),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        help_text=_("One to five."),
        error_messages={"required": _("Choose at least one theme.")},
    )
    credit_name = forms.CharField(
        label=_("First name"), max_length=60, help_text=_("Shown with your clip.")
    )
    credit_country = forms.ChoiceField(
        label=_("Country"),
        choices=lambda: [("", "—"), *EuropeanCountries()],
        help_text=_("Shown with your clip."),
    )
    email = forms.EmailField(
        label=_("E-mail"), help_text=_("Never shown. We send your receipt and the decision there.")
    )
    consent = forms.BooleanField(
        label=_("I filmed this clip, and I accept the licence terms."),
        error_messages={"required": _("Please accept the licence terms to send your clip.")},
    )
    video = forms.FileField(
        label=_("Your clip"),
        required=False,
        help_text=_("A video from your phone or camera, up to 10 minutes."),
        widget=forms.ClearableFileInput(attrs={"accept": "video/*"}),
    )
    # Set by the page's script after it sent the file straight to object storage.
    upload_ticket = forms.CharField(required=False, widget=forms.HiddenInput)
    # Hidden from people by CSS and aria; bots fill it in.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, upload_too_large=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.upload_too_large = upload_too_large
        # The files to make clips of, unpacked from the upload and probed; the folders of
        # Sentry events among them (dashcam.py).
        self.pieces, self.sentry = [], set()
        self.fields["video"].widget.attrs["data-max-bytes"] = settings.MAX_UPLOAD_BYTES

    def clean_video(self):
        upload = self.cleaned_data["video"]
        if upload is None:
            return None
        # Several files at once (a dashcam event's cameras) are read together.
        uploads = self.files.getlist(self.add_prefix("video")) or [upload]
        received = []
        for each in uploads:
            if each.size > settings.MAX_UPLOAD_BYTES:
                raise forms.ValidationError(self.too_large_message())
            if each.size == 0:
                raise forms.ValidationError(media_error_message(media.MediaError("empty")))
            received.append(
                unpack.Piece(
                    name=each.name,
                    content_type=each.content_type or "",
                    path=Path(each.temporary_file_path()),
                )
            )
        self.pieces = self.probed(unpack.unpack(received))
        return upload

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(_("This field must stay empty."))
        return ""

    def clean_upload_ticket(self):
        ticket = self.cleaned_data["upload_ticket"]
        if not ticket:
            return None
        try:
            upload = direct.open_upload(ticket)
        except direct.UploadMissing:
            raise forms.ValidationError(
                _("Your file did not arrive. Please send it again.")
            ) from None
        if direct.used(upload.key):
            # A ticket makes one clip: a second would share the first one's original, and
            # withdrawing either would delete it. The object is theirs: it stays.
            raise forms.ValidationError(_("Your file did not arrive. Please send it again."))
        try:
            if upload.size > settings.MAX_UPLOAD_BYTES:
                raise forms.ValidationError(self.too_large_message())
            received = unpack.Piece(name=upload.key, file=upload.file, stored=upload.key)
            self.pieces = self.probed(unpack.unpack([received]))
        except forms.ValidationError:
            direct.discard(upload.key)
            raise
        return upload.key

    def probed(self, pieces):
        """The unpacked pieces, each a usable video; else the first reason why not."""
        pieces, self.sentry = dashcam.set_aside(pieces)
        if not pieces:  # only an event's own files (event.json, thumb.png): no video
            raise forms.ValidationError(media_error_message(media.MediaError("not_video")))
        for piece in pieces:
            if piece.skipped:
                raise forms.ValidationError(
                    probe.Problem(piece.where, piece.skipped, piece.details).message()
                )
            try:
                media.probe(piece.path or piece.file or io.BytesIO(piece.data), **probe_limits())
            except media.MediaError as error:
                raise forms.ValidationError(media_error_message(error)) from None
        return pieces

    def clean(self):
        data = super().clean()
        if self.upload_too_large:
            self.errors.pop("video", None)
            self.add_error("video", self.too_large_message())
        elif (
            "video" not in self.errors
            and "upload_ticket" not in self.errors
            and not data.get("video")
            and not data.get("upload_ticket")
        ):
            self.add_error("video", forms.Field.default_error_messages["required"])
        if "upload_ticket" in self.errors:
            self.add_error("video", self.errors.pop("upload_ticket"))
        return data

    def save(self, *, language, email=None, source=Submission.Source.WEB):
        """Keep each file privately (unless the browser put it there), then record the clips."""
        data = self.cleaned_data
        originals = []
        try:
            for piece in self.pieces:
                originals.append(
                    piece.stored or store_original(piece.path or piece.data, name=piece.name)
                )
        except BaseException:
            for name in originals:
                private_storage().delete(name)
            raise
        groups = dashcam.group(
            [piece.name for piece in self.pieces],
            folders=[piece.folder for piece in self.pieces],
            sentry_folders=self.sentry,
        )
        submission = Submission.objects.create_with_clips(
            email=email or data["email"],
            language=language,
            source=source,
            consent=True,
            clips=[
                ClipDraft.of(
                    group,
                    originals,
                    title=data["title"],
                    description=data["description"],
                    themes=tuple(theme.slug for theme in data["themes"]),
                    credit_name=data["credit_name"],
                    credit_country=data["credit_country"],
                )
                for group in groups
            ],
        )
        transaction.on_commit(lambda: notifications.send_receipt(submission), robust=True)
        return submission

    @staticmethod
    def too_large_message():
        return _("This file is too large: %(max)s at most.") % {
            "max": filesizeformat(settings.MAX_UPLOAD_BYTES)
        }


class PersonalLinkForm(SubmissionForm):
    """The form a personal upload link opens: the sender's address is the one the link is for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["email"]

    @staticmethod
    def initial_from(draft):
        """What the e-mail said, as the form's initial values."""
        return {
            "title": draft.get("title", ""),
            "description": draft.get("description", ""),
            "themes": draft.get("themes", []),
            "credit_name": draft.get("credit_name", ""),
        }


class CreditForm(forms.Form):
    """The first name and country shown with an owner's clips, set on their status page."""

    credit_name = SubmissionForm.base_fields["credit_name"]
    credit_country = SubmissionForm.base_fields["credit_country"]
