"""Rate limits per account, beside the limits per address.

A limit per address alone lets many addresses (a botnet, or forwarded headers
behind a proxy) share the guesses at one account: ten addresses pushed 54 wrong
passwords at one account in a minute. These keys name the account a request
is about, so its attempts are counted together wherever they come from.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request
from flask_limiter import RouteLimit
from flask_login import current_user

from giveaway.extensions import limiter
from giveaway.inputs import caseless

# Longer names are refused by the forms anyway; the key need not hold more.
_KEY_LENGTH = 254


def _named(field: str) -> str:
    value = request.form.get(field, "")[: _KEY_LENGTH * 2]
    return caseless(value.strip())[:_KEY_LENGTH]


def sign_in_key() -> str:
    """The account a sign-in names (a username that does not exist counts too)."""
    return f"account:sign-in:{_named('username')}"


def reset_key() -> str:
    """The account a password-reset request names, by username or address."""
    return f"account:reset:{_named('identifier')}"


def signed_in_key() -> str:
    return f"account:user:{current_user.id}" if current_user.is_authenticated else "account:anon"


def per_account(setting: str, key_func: Callable[[], str]) -> RouteLimit:
    """A POST limit from `setting`, counted per account as `key_func` names it.

    Every attempt counts, as for the limit per address (counting only failures
    would be checked after the answer, and races let a burst through).
    """
    return limiter.limit(lambda: current_app.config[setting], key_func=key_func, methods=["POST"])


# Each decorates one view (a limit is kept per view and key).
sign_in_limit = per_account("RATELIMIT_LOGIN", sign_in_key)
reset_limit = per_account("RATELIMIT_PASSWORD_RESET", reset_key)
change_password_limit = per_account("RATELIMIT_LOGIN", signed_in_key)
resend_limit = per_account("RATELIMIT_PASSWORD_RESET", signed_in_key)
