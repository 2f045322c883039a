import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.safestring import SafeData
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gallery import media
from gallery.models import EuropeanCountries, Theme
from gallery.processing import media_error_message
from infra.storage import private_storage
from submissions import dashcam, direct, kept, notifications, probe, tus, unpack
from submissions.models import ClipDraft, Submission
from submissions.receive import store_original


class AlreadySent(Exception):
    """An upload named in the form made a clip meanwhile (the same form sent twice)."""

    def __init__(self, earlier=None):
        super().__init__(earlier)
        self.earlier = earlier  # the Submission it made, when known


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True

    def __init__(self, attrs=None):
        # No `capture`: phones offer the camera roll as well as the camera. A zip too: the
        # car's dashcam event copied from its USB drive, or clips packed on a computer.
        super().__init__(
            {"accept": "video/*,.zip,application/zip", "multiple": True, **(attrs or {})}
        )

    def get_context(self, name, value, attrs):
        # The drop zone round the field (a label: a click anywhere picks files) says much;
        # the field's name is only its short label, the zone's instruction describes it
        # (ids from submissions/_upload.html).
        context = super().get_context(name, value, attrs)
        attrs = context["widget"]["attrs"]
        if field_id := attrs.get("id"):
            attrs["aria-labelledby"] = f"{field_id}_name"
            described = [f"{field_id}_drop", attrs.get("aria-describedby", "")]
            attrs["aria-describedby"] = " ".join(filter(None, described))
        return context


class MultipleFileField(forms.FileField):
    """Several files at once; each one is its own clip (or holds several, like a zip)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item is not None]
        return [single(data, initial)] if data else []


class KeptUploadsInput(forms.MultipleHiddenInput):
    """Renders nothing by itself: the file block of the template shows the kept uploads."""

    def render(self, *args, **kwargs):
        return ""


def drafts(videos, originals, data, *, sentry=()):
    """One clip per video, or per dashcam event (its cameras' files, dashcam.py), each with
    the form's details; `originals` are the videos' stored names, by index."""
    groups = dashcam.group(
        [video.piece.name for video in videos],
        folders=[video.piece.folder for video in videos],
        sentry_folders=sentry,
    )
    return [
        ClipDraft.of(
            group,
            originals,
            title=data["title"],
            description=data["description"],
            themes=tuple(theme.slug for theme in data["themes"]),
            credit_name=data["credit_name"],
            credit_country=data["credit_country"],
            left_out=probe.left_out_of(group, videos),
        )
        for group in groups
    ]


class ThemeChoiceField(forms.ModelMultipleChoiceField):
    """The gallery's themes, one to MAX_THEMES of them (the help text says so), each once."""

    MAX_THEMES = 5
    default_error_messages = {
        "too_many": _("Choose at most five themes."),
        "duplicate": _("Choose each theme only once."),
    }

    def label_from_instance(self, theme):
        return theme.label

    def clean(self, value):
        # The base field folds repeated values into one and counts nothing: a hand-made post
        # could send the same theme twice or any number of them.
        if isinstance(value, list | tuple):
            given = [str(one) for one in value]
            if len(set(given)) != len(given):
                raise forms.ValidationError(self.error_messages["duplicate"], code="duplicate")
            if len(given) > self.MAX_THEMES:
                raise forms.ValidationError(self.error_messages["too_many"], code="too_many")
        return super().clean(value)


class PillCheckboxes(forms.CheckboxSelectMultiple):
    """Real checkboxes drawn as the gallery's theme pills (its `.chip` style)."""

    template_name = "submissions/widgets/pills.html"
    option_template_name = "submissions/widgets/pill.html"


# Said when a text is longer than its field holds, by the server and by the page's script.
TOO_LONG = _("At most %(limit_value)d characters, this one has %(show_value)d: please shorten it.")
# Said when a file is larger than the site takes, by the server and by the page's script.
TOO_LARGE = _("%(name)s is too large: at most %(max)s.")


class SubmissionForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=120,
        help_text=_("At most 120 characters."),
        error_messages={"required": _("Give your clip a title."), "max_length": TOO_LONG},
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": TOO_LONG},
    )
    themes = ThemeChoiceField(
        label=_("Themes"),
        queryset=Theme.objects.all(),
        to_field_name="slug",
        widget=PillCheckboxes,
        help_text=_("One to five."),
        error_messages={"required": _("Choose at least one theme.")},
    )
    credit_name = forms.CharField(
        label=_("First name"),
        max_length=60,
        help_text=_("Shown with your clip."),
        error_messages={"required": _("Enter your first name."), "max_length": TOO_LONG},
    )
    credit_country = forms.ChoiceField(
        label=_("Country"),
        choices=lambda: [("", "—"), *EuropeanCountries()],
        help_text=_("Shown with your clip."),
        error_messages={"required": _("Choose your country.")},
    )
    email = forms.EmailField(
        label=_("E-mail"),
        help_text=_("Never shown. We send your receipt and the decision there."),
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.org."),
        },
    )
    consent = forms.BooleanField(
        label=_("I filmed this clip, and I accept the licence terms."),
        error_messages={"required": _("Please accept the licence terms to send your clip.")},
    )
    video = MultipleFileField(
        label=_("Your clip"),
        required=False,  # the file or a ticket naming it: see clean()
        help_text=_("A video from your phone or camera, up to 10 minutes."),
        error_messages={"required": _("Choose the video file to send.")},
    )
    # Tokens naming files the page's script already uploaded (tus, or S3 multipart), and
    # those kept from an earlier try; the template shows them beside the file input.
    upload_ticket = forms.Field(required=False, widget=KeptUploadsInput)
    # Hidden from people by CSS and aria; bots fill it in.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, upload_too_large=False, shown=(), **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels without colons, in every language
        super().__init__(*args, **kwargs)
        self.upload_too_large = upload_too_large
        # Submissions whose private page this browser was given (views.SENT_SESSION_KEY).
        self.shown = set(shown)
        # The address a round trip proved the sender reads (a personal link's), else None.
        self.sender = None
        # The videos to make clips of, unpacked from the files, probed (probe.Video).
        self.videos = []
        # Files uploaded before the form was sent (kept.Kept), shown again on errors.
        self.kept_uploads = []
        self._received = []  # unpack.Piece for every file received, plain or by token
        self._folder = None
        self.sentry = set()  # folders of Sentry events among the files (dashcam.py)
        self.fields["video"].widget.attrs["data-max-bytes"] = settings.MAX_UPLOAD_BYTES
        # No `maxlength`: the browser would cut a pasted text without a word. The server says
        # how long it may be, and the page's script counts as the owner types (data-max-length).
        for field in self.fields.values():
            if type(field) is forms.CharField and field.max_length and not field.widget.is_hidden:
                field.widget.attrs.pop("maxlength", None)
                field.widget.attrs["data-max-length"] = field.max_length

    def clean_video(self):
        uploads = self.cleaned_data["video"]
        for upload in uploads:
            if upload.size > settings.MAX_UPLOAD_BYTES:
                raise forms.ValidationError(self.too_large_message(upload.name))
        for upload in uploads:
            self._received.append(
                unpack.Piece(
                    name=upload.name,
                    content_type=upload.content_type or "",
                    path=Path(upload.temporary_file_path()),
                )
            )
        return uploads

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(_("This field must stay empty."))
        return ""

    def clean_upload_ticket(self):
        values = self.cleaned_data["upload_ticket"] or []
        values = [values] if isinstance(values, str) else values
        tokens = list(dict.fromkeys(t for t in values if isinstance(t, str) and t))
        problems = []
        for token in tokens[: probe.MAX_FILES_SENT]:
            try:
                upload = kept.read(token)
            except kept.Refused:
                problems.append(_("Your file did not arrive. Please send it again."))
                continue
            if upload.used:
                # One clip per upload: a second would share the first one's original.
                problems.append(
                    self.already_sent_message(kept.earlier([upload.claim_key]), upload.name)
                )
                continue
            piece = self.received_piece(upload)
            if piece is None:
                problems.append(_("Your file did not arrive. Please send it again."))
                continue
            self.kept_uploads.append(upload)
            self._received.append(piece)
        if problems:
            raise forms.ValidationError(problems)
        return [upload.token for upload in self.kept_uploads]

    @staticmethod
    def received_piece(upload):
        """The file a token names, where it lies; None when it is no longer there."""
        if upload.kind == kept.LOCAL:
            partial = tus.load(upload.ref)
            if partial is None or not partial.finished or partial.length != upload.size:
                return None
            return unpack.Piece(name=upload.name, path=partial.data)
        if not direct.enabled():
            return None
        try:
            file = direct.open_upload(upload.ref)
        except direct.UploadMissing:
            return None
        return unpack.Piece(name=upload.name, file=file, stored=upload.ref)

    def examine(self):
        """The received files through the same unpack -> probe path as e-mail attachments."""
        if self._folder is None:
            folder = tus.root() if not direct.enabled() else None
            self._folder = tempfile.TemporaryDirectory(prefix="examine-", dir=folder)
        pieces = list(unpack.unpack(self._received))
        # A dashcam event's own files (event.json, thumb.png) are read for the Sentry mark
        # only, never kept (event.json holds the car's location).
        pieces, self.sentry = dashcam.set_aside(pieces)
        if not pieces:
            raise forms.ValidationError(media_error_message(media.MediaError("not_video")))
        videos, problems, ignored = probe.examine(pieces, Path(self._folder.name))
        # A camera left out of an event is not the owner's mistake: the receipt names it.
        problems = [problem for problem in problems if not problem.left_out]
        if problems:
            raise forms.ValidationError([problem.message() for problem in problems[:3]])
        if not videos:
            raise forms.ValidationError(media_error_message(media.MediaError("not_video")))
        return videos

    def clean(self):
        data = super().clean()
        if self.upload_too_large:
            self.errors.pop("video", None)
            self.add_error("video", self.too_large_message())
        elif "video" not in self.errors and "upload_ticket" not in self.errors:
            if not self._received:
                self.add_error("video", self.fields["video"].error_messages["required"])
            else:
                try:
                    self.videos = self.examine()
                except forms.ValidationError as error:
                    self.discard_uploads()  # not usable: the owner picks another file
                    self.add_error("video", error)
                else:
                    if self.errors and "website" not in self.errors:
                        self.keep_plain_uploads(data.get("video") or [])
        if "upload_ticket" in self.errors:
            self.add_error("video", self.errors.pop("upload_ticket"))
        return data

    def keep_plain_uploads(self, uploads):
        """Files posted with a form sent back for other errors stay, as if sent first."""
        for upload in uploads:
            path = Path(upload.temporary_file_path())
            if direct.enabled():
                ref, kind = direct.store(path, upload.name), kept.S3
            else:
                ref, kind = tus.adopt(path, name=upload.name).id, kept.LOCAL
            self.kept_uploads.append(
                kept.read(kept.issue(kind, ref, name=upload.name, size=upload.size))
            )

    def discard_uploads(self):
        for upload in self.kept_uploads:
            if upload.kind == kept.LOCAL:
                partial = tus.load(upload.ref)
                if partial is not None:
                    partial.remove()
            else:
                direct.discard(upload.ref)
        self.kept_uploads = []

    def cleanup(self):
        """Remove the form's working copies (call once the answer is ready)."""
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def save(self, *, language, email=None, source=Submission.Source.WEB):
        """Keep each video privately (unless it is in the bucket already), then record it."""
        data = self.cleaned_data
        originals = []
        try:
            for index, video in enumerate(self.videos):
                originals.append(
                    video.stored
                    or store_original(video.path, name=probe.original_name(video.piece, index))
                )
            contents = self.content_keys(email or data["email"])
            keys = [upload.claim_key for upload in self.kept_uploads] + contents
            with transaction.atomic():
                if not kept.claim(self.kept_uploads) or not kept.claim_content(contents):
                    raise AlreadySent(kept.earlier(keys))
                submission = Submission.objects.create_with_clips(
                    email=email or data["email"],
                    language=language,
                    source=source,
                    consent=True,
                    clips=drafts(self.videos, originals, data, sentry=self.sentry),
                )
                kept.record(keys, submission)
        except BaseException:
            stored = {video.stored for video in self.videos}
            for name in originals:
                if name not in stored:
                    private_storage().delete(name)
            raise
        transaction.on_commit(lambda: self.release(originals), robust=True)
        transaction.on_commit(lambda: notifications.send_receipt(submission), robust=True)
        return submission

    def already_sent_message(self, earlier, name=""):
        """What a file sent a second time is told: the link to the page of the submission it
        made when the one sending could open that page anyway (this browser was given it, or
        the address is proven theirs); else where that link is, never the link itself."""
        name = name or gettext("This file")
        may_open = earlier is not None and (
            earlier.pk in self.shown
            or (self.sender is not None and earlier.email.lower() == self.sender.lower())
        )
        if may_open:
            return format_html(
                gettext(
                    "{name} was already sent: its clip is with our team. Follow it on "
                    '<a href="{url}">its page</a>.'
                ),
                name=name,
                url=earlier.get_status_url(),
            )
        return gettext(
            "%(name)s was already sent: its clip is with our team. The receipt e-mail sent to "
            "the address it came from has the link to its page."
        ) % {"name": name}

    def content_keys(self, email):
        """What names each video's content from this address (kept.content_key)."""
        keys = []
        for video in self.videos:
            if video.path is not None:
                with video.path.open("rb") as file:
                    keys.append(kept.content_key(email, file, video.path.stat().st_size))
            elif video.piece.file is not None:
                keys.append(kept.content_key(email, video.piece.file, video.piece.size))
        return keys

    def release(self, originals):
        """Remove the uploads clips were made of, but those kept as originals."""
        for upload in self.kept_uploads:
            if upload.kind == kept.LOCAL:
                partial = tus.load(upload.ref)
                if partial is not None:
                    partial.remove()
            elif upload.ref not in originals:
                direct.discard(upload.ref)
        self.cleanup()

    # The order of the page's steps, which its error summary follows.
    page_order = ("video", "title", "description", "themes", "credit_name", "credit_country")

    def error_summary(self):
        """(the id of the input to go to, the message) for each error, in the page's order."""
        names = [*self.page_order, *(name for name in self.fields if name not in self.page_order)]
        summary = [(None, message) for message in self.non_field_errors()]
        for name in names:
            if name in self.fields and name in self.errors and not self[name].is_hidden:
                field = self[name]
                # A group of checkboxes is reached through its first box.
                boxes = isinstance(field.field.widget, forms.CheckboxSelectMultiple)
                first = field.subwidgets[0].id_for_label if boxes and field.subwidgets else None
                anchor = first or field.auto_id
                # A message holding a link of its own (already sent: its page) is no link.
                summary += [
                    (None if isinstance(message, SafeData) else anchor, message)
                    for message in field.errors
                ]
        return summary

    def browser_checks(self):
        """What the page's script checks before sending, with the server's own messages."""
        return {
            "required": {
                name: str(field.error_messages["required"])
                for name, field in self.fields.items()
                if field.required and name != "video"  # the file is the upload script's
            },
            "email": str(self.fields["email"].error_messages["invalid"])
            if "email" in self.fields
            else "",
            "file": str(self.fields["video"].error_messages["required"]),
            # Filled in by the script: %(limit_value)d, %(show_value)d, %(count)s, %(max)s.
            "too_long": str(TOO_LONG),
            "count": str(_("%(count)s of %(max)s characters")),
            # %(name)s and %(max)s: the file's name, the limit in the page's language.
            "too_large": str(TOO_LARGE),
        }

    @staticmethod
    def too_large_message(name=""):
        """Why a file is refused for its size: named, as the page's script names it."""
        limit = filesizeformat(settings.MAX_UPLOAD_BYTES)
        if name:
            return TOO_LARGE % {"name": name, "max": limit}
        return _("This file is too large: %(max)s at most.") % {"max": limit}


class PersonalLinkForm(SubmissionForm):
    """The form a personal upload link opens: the sender's address is the one the link is for."""

    def __init__(self, *args, sender=None, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["email"]
        self.sender = sender

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
