from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("Your password"),
        validators=[
            DataRequired(lazy_gettext("Enter your password to confirm.")),
            Length(max=1024),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    understood = BooleanField(
        lazy_gettext("I understand that this cannot be undone"),
        validators=[DataRequired(lazy_gettext("Tick the box to confirm that you understand."))],
    )


class AdminDeleteAccountForm(FlaskForm):
    confirm_username = StringField(
        lazy_gettext("Username of the account to delete"),
        validators=[DataRequired(lazy_gettext("Type the username to confirm.")), Length(max=254)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
