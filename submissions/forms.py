from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from gallery import media
from gallery.countries import COUNTRIES
from gallery.models import Theme
from gallery.processing import media_error_message, probe_limits


class ThemeChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, theme):
        return theme.label


class SubmissionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    themes = ThemeChoiceField(
        label=_("Themes"), queryset=Theme.objects.all(), to_field_name="slug", widget=forms.CheckboxSelectMultiple,
        help_text=_("One to five."),
        error_messages={"required": _("Choose at least one theme.")},
    )
    credit_name = forms.CharField(label=_("First name"), max_length=60, help_text=_("Shown with your clip."))
    credit_country = forms.ChoiceField(label=_("Country"), choices=[("", "—"), *COUNTRIES], help_text=_("Shown with your clip."))
    email = forms.EmailField(label=_("E-mail"), help_text=_("Never shown. We send your receipt and the decision there."))
    consent = forms.BooleanField(
        label=_("I filmed this clip, and I accept the licence terms."),
        error_messages={"required": _("Please accept the licence terms to send your clip.")},
    )
    video = forms.FileField(
        label=_("Your clip"),
        help_text=_("A video from your phone or camera, up to 10 minutes."),
        widget=forms.ClearableFileInput(attrs={"accept": "video/*"}),
    )
    # Hidden from people by CSS and aria; bots fill it in.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def __init__(self, *args, upload_too_large=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.upload_too_large = upload_too_large
        self.probe = None
        self.fields["video"].widget.attrs["data-max-bytes"] = settings.MAX_UPLOAD_BYTES

    def clean_video(self):
        upload = self.cleaned_data["video"]
        if upload.size > settings.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(self.too_large_message())
        if upload.size == 0:
            raise forms.ValidationError(media_error_message(media.MediaError("empty")))
        try:
            self.probe = media.probe(upload.temporary_file_path(), **probe_limits())
        except media.MediaError as error:
            raise forms.ValidationError(media_error_message(error)) from None
        return upload

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(_("This field must stay empty."))
        return ""

    def clean(self):
        if self.upload_too_large:
            self.errors.pop("video", None)
            self.add_error("video", self.too_large_message())
        return super().clean()

    @staticmethod
    def too_large_message():
        return _("This file is too large: %(max)s at most.") % {"max": filesizeformat(settings.MAX_UPLOAD_BYTES)}
