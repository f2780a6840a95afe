from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password to confirm."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    understood = BooleanField(
        "I understand that this cannot be undone",
        validators=[DataRequired("Tick the box to confirm that you understand.")],
    )


class AdminDeleteAccountForm(FlaskForm):
    confirm_username = StringField(
        "Username of the account to delete",
        validators=[DataRequired("Type the username to confirm."), Length(max=254)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
