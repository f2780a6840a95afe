from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class Reset2FAForm(FlaskForm):
    """Account recovery: the admin types the username to confirm."""

    confirm_username = StringField(
        "Type the username to confirm",
        validators=[DataRequired("Type the account's username to confirm."), Length(max=100)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
