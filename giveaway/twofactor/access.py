"""Who may use the admin pages: an administrator with 2FA.

Here, beside `has_2fa`, so that every area's admin pages (claims, critical,
admin) can use it without importing each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from giveaway.twofactor.status import has_2fa

F = TypeVar("F", bound=Callable[..., Any])


def admin_required(view: F) -> F:
    """An administrator with 2FA turned on.

    Anonymous visitors sign in first; other users get 403; an administrator
    without 2FA is sent to set it up, since an admin account is the most
    valuable one to take over.
    """

    @login_required
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        if not has_2fa(current_user):
            flash(
                _(
                    "Administrators must use two-factor authentication. "
                    "Add a security key or an authenticator app to open the admin pages."
                ),
                "warning",
            )
            return redirect(url_for("twofactor.security"))
        return view(*args, **kwargs)

    return wrapper
