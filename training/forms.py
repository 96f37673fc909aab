"""The order form: a name, man or woman, and the photos (their real checks are in photos/)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from privacy.consent import CONSENT_REQUIRED, CONSENT_TEXT
from training.models import SubjectType

NAME_MAX_LENGTH = 50


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several files under one name; each must at least be a non-empty upload."""

    widget = MultiplePhotoInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            raise forms.ValidationError(_("Add your photos."), code="required")
        return [super(MultiplePhotoField, self).clean(item, initial) for item in files]


def validate_model_name(value: str) -> None:
    """Letters (any alphabet), digits, spaces and hyphens only."""
    if not all(char.isalnum() or char in " -" for char in value):
        raise forms.ValidationError(
            _("Use only letters, digits, spaces and hyphens."), code="invalid_characters"
        )


class OrderForm(forms.Form):
    """What a person fills in to order headshots."""

    name = forms.CharField(
        label=_("Name of your model"),
        max_length=NAME_MAX_LENGTH,
        strip=True,
        validators=[validate_model_name],
        help_text=_("For you only, e.g. “LinkedIn 2026”. Up to 50 characters."),
        error_messages={"required": _("Give your model a name, e.g. “LinkedIn 2026”.")},
    )
    subject_type = forms.ChoiceField(
        label=_("The person in the photos is"),
        choices=SubjectType.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Say who is in the photos: choose “Man” or “Woman”."),
            "invalid_choice": _("Choose “Man” or “Woman”."),
        },
    )
    photos = MultiplePhotoField(
        label=_("Your photos"),
        widget=MultiplePhotoInput(
            attrs={"accept": "image/jpeg,image/png,image/heic,image/heif,image/webp"}
        ),
    )
    consent = forms.BooleanField(label=CONSENT_TEXT, error_messages={"required": CONSENT_REQUIRED})

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())  # no double spaces

    def order_arguments(self) -> dict[str, Any]:
        """The cleaned fields `order_create` takes."""
        return {key: self.cleaned_data[key] for key in ("name", "subject_type", "photos")}

    def add_refusal(self, problems: list[tuple[str | None, str]]) -> None:
        """Show the server's refusals: each photo's on the photos field, the rest on the form."""
        for photo_name, message in problems:
            self.add_error("photos" if photo_name else None, message)


class TrainModelForm(forms.Form):
    """The train-model API's JSON body, checked like the order form (`zipUrl` by zip_uploads)."""

    zipUrl = forms.CharField(max_length=2048, strip=True)  # the spec's field name
    name = forms.CharField(max_length=NAME_MAX_LENGTH, strip=True, validators=[validate_model_name])
    type = forms.ChoiceField(
        choices=SubjectType.choices,
        error_messages={"invalid_choice": _("Choose “man” or “woman”.")},
    )
    package = forms.CharField(required=False, max_length=50)
    consent = forms.BooleanField(error_messages={"required": CONSENT_REQUIRED})

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_consent(self) -> bool:
        """JSON `true` and nothing else: "no" or 1 must not pass for an agreement."""
        if self.data.get("consent") is not True:
            raise forms.ValidationError(CONSENT_REQUIRED, code="required")
        return True


STARS_ERROR = _("Choose from 1 to 5 stars.")
COMMENT_MAX_LENGTH = 1000


class RatingForm(forms.Form):
    """How the person liked the order: 1 to 5 stars, and a comment if they like."""

    stars = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(number, str(number)) for number in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": STARS_ERROR, "invalid_choice": STARS_ERROR},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX_LENGTH}),
    )
