from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from giveaway.claims import pool, regions
from giveaway.inputs import ascii_digits


class DigitsIntegerField(IntegerField):
    """A whole number, also when typed in other scripts' digits (٢ is 2)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata([ascii_digits(v) if isinstance(v, str) else v for v in valuelist])


class DigitsDateField(DateField):
    """A date, also when typed in other scripts' digits (strptime wants ASCII)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata([ascii_digits(v) if isinstance(v, str) else v for v in valuelist])


def _known_region(form: FlaskForm, field: SelectField) -> None:
    # Any ISO 3166-1 code is a valid answer (an old page, a changed setting):
    # one that is not eligible gets the alternatives, not a form error.
    if not field.data or not regions.is_valid(field.data):
        raise ValidationError(_("Choose the country the keys would be shipped to."))


class ClaimForm(FlaskForm):
    region = SelectField(
        lazy_gettext("Where would the keys be shipped?"),
        choices=[],
        validate_choice=False,
        validators=[_known_region],
    )

    def __init__(self, eligible: list[str], *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.region.choices = [("", _("Choose a country…")), *regions.choices(eligible)]


class NotifyForm(FlaskForm):
    """Only a CSRF token: email me when codes are available again."""


class SignInAgainForm(FlaskForm):
    """Only a CSRF token: sign out and sign in again with a key (the walkthrough's test)."""


def _store_url(form: FlaskForm, field: StringField) -> None:
    problem = pool.store_url_problem(field.data)
    if problem:
        raise ValidationError(problem)


class UploadForm(FlaskForm):
    file = FileField(
        lazy_gettext("File of codes"),
        validators=[FileRequired(lazy_gettext("Choose the file of codes to upload."))],
        description=lazy_gettext("One code a line, or a CSV file whose first column is the code."),
    )
    name = StringField(
        lazy_gettext("Batch name"),
        validators=[DataRequired(lazy_gettext("Give the batch a name.")), Length(max=100)],
    )
    vendor = StringField(lazy_gettext("Vendor"), validators=[Length(max=100)])
    store_url = URLField(
        lazy_gettext("Store address (where the codes are redeemed)"),
        validators=[_store_url],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"spellcheck": "false", "placeholder": "https://"},
    )
    keys_per_code = DigitsIntegerField(
        lazy_gettext("Keys per code"),
        default=2,
        validators=[
            InputRequired(lazy_gettext("How many keys does one code buy?")),
            NumberRange(1, 10, lazy_gettext("Between 1 and 10.")),
        ],
    )
    expires = DigitsDateField(
        lazy_gettext("Last day the codes can be used"),
        validators=[InputRequired(lazy_gettext("Give the date the codes expire."))],
    )


class ConfirmUploadForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


class VoidForm(FlaskForm):
    code = StringField(
        lazy_gettext("Code to void"),
        validators=[DataRequired(lazy_gettext("Enter the code to void.")), Length(max=64)],
        filters=[ascii_digits],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    reason = StringField(
        lazy_gettext("Reason"),
        validators=[DataRequired(lazy_gettext("Say why the code is voided.")), Length(max=500)],
    )
