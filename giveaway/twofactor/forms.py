from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from giveaway.inputs import ascii_digits

_CODE_ATTRS = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "autocapitalize": "none",
    "spellcheck": "false",
}


class PasswordConfirmForm(FlaskForm):
    """Removing a method asks for the password again."""

    password = PasswordField(
        lazy_gettext("Your password"),
        validators=[
            DataRequired(lazy_gettext("Enter your password to confirm.")),
            Length(max=1024),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class TotpConfirmForm(FlaskForm):
    code = StringField(
        lazy_gettext("Code from the app"),
        validators=[
            DataRequired(lazy_gettext("Enter the six-digit code from the app.")),
            Length(max=16),
        ],
        # Phones may type the code in the digits of their language (٤٥٦…).
        filters=[ascii_digits],
        render_kw=_CODE_ATTRS,
    )
    # Shown (and required by the rule, not the form) only while the free keys are at stake.
    give_up_keys = BooleanField(lazy_gettext("I give up the free security keys"))


class RecoveryGenerateForm(FlaskForm):
    """The password is asked only when codes already exist (replacing them)."""

    password = PasswordField(
        lazy_gettext("Your password"),
        validators=[Optional(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class SignInTotpForm(FlaskForm):
    code = StringField(
        lazy_gettext("Code from your authenticator app"),
        validators=[
            DataRequired(lazy_gettext("Enter the six-digit code from your app.")),
            Length(max=16),
        ],
        filters=[ascii_digits],
        render_kw=_CODE_ATTRS,
    )


class RecoveryConfirmForm(FlaskForm):
    """One code typed back from wherever the set was saved."""

    code = StringField(
        lazy_gettext("One of your recovery codes"),
        validators=[DataRequired(lazy_gettext("Type one of the codes you saved.")), Length(max=64)],
        filters=[ascii_digits],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class SignInRecoveryForm(FlaskForm):
    recovery_code = StringField(
        lazy_gettext("Recovery code"),
        validators=[
            DataRequired(lazy_gettext("Enter one of your recovery codes.")),
            Length(max=64),
        ],
        filters=[ascii_digits],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
