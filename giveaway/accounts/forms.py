from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class RegisterForm(FlaskForm):
    username = StringField(
        lazy_gettext("Username"),
        validators=[
            DataRequired(lazy_gettext("Choose a username.")),
            Length(max=50, message=lazy_gettext("Use at most 50 characters.")),
        ],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    email = EmailField(
        lazy_gettext("Email address"),
        validators=[
            DataRequired(lazy_gettext("Enter your email address.")),
            Length(max=254, message=lazy_gettext("Use at most 254 characters.")),
        ],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[DataRequired(lazy_gettext("Choose a password.")), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        lazy_gettext("Confirm password"),
        validators=[
            DataRequired(lazy_gettext("Type your password again.")),
            EqualTo("password", lazy_gettext("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    username = StringField(
        lazy_gettext("Username"),
        validators=[DataRequired(lazy_gettext("Enter your username.")), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[DataRequired(lazy_gettext("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class ResetRequestForm(FlaskForm):
    identifier = StringField(
        lazy_gettext("Username or email address"),
        validators=[
            DataRequired(lazy_gettext("Enter your username or email address.")),
            Length(max=254),
        ],
        render_kw={"autocomplete": "username"},
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("New password"),
        validators=[DataRequired(lazy_gettext("Choose a password.")), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        lazy_gettext("Confirm new password"),
        validators=[
            DataRequired(lazy_gettext("Type your password again.")),
            EqualTo("password", lazy_gettext("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        lazy_gettext("Current password"),
        validators=[DataRequired(lazy_gettext("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


class ResendVerificationForm(FlaskForm):
    """Only a CSRF token: resend the verification email to the signed-in user."""
