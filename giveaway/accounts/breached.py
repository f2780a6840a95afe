"""A password found in a breach at sign-in: it stops working, and a link to choose a new one is emailed.

What PyPI's Warehouse does in its sign-in form: after the password checks out,
it asks the breached-password service; on a hit it turns the password off,
emails the owner and refuses the sign-in. The person is not signed in until
they have chosen a new password through the emailed link, and the second
factor still follows. Not "sign them in and send every page to the change
form": whoever typed the password may be the attacker who found it in the
breach, and the new password must be chosen by whoever reads the mailbox.

The breached password is kept (marked, so it no longer verifies) only to
recognise it if it is tried again, and say why it no longer works. When the
service is off (BREACHED_PASSWORDS_URL empty) nothing is asked; when it is
slow or down, passwords.is_breached waits at most BREACHED_PASSWORDS_TIMEOUT,
logs a warning and the sign-in goes on as usual.
"""

from __future__ import annotations

from flask_babel import lazy_gettext
from sqlalchemy.orm import Session

from giveaway import mail
from giveaway.accounts import passwords, tokens
from giveaway.accounts.models import User
from giveaway.events import service as events
from giveaway.links import external_url

# Prefixed to the hash of a password turned off: no hasher reads it, so it never verifies.
TURNED_OFF = "!breached:"

MESSAGE = lazy_gettext(
    "This password appears in a data breach, so attackers may know it. To protect your "
    "account we have turned it off: it no longer signs you in. We have emailed you a link "
    "to choose a new password."
)
MESSAGE_AGAIN = lazy_gettext(
    "This password appeared in a data breach and we turned it off. Use the link we emailed "
    "you to choose a new password, or ask for a new link below."
)


def stop_if_breached(session: Session, user: User, password: str) -> bool:
    """After `password` verified for `user`: True when it appears in a breach.

    Then the password is turned off, other sessions end, the event is recorded
    and a link to choose a new password is emailed; the caller refuses the sign-in.
    """
    if not passwords.is_breached(password):
        return False
    user.password_hash = TURNED_OFF + (user.password_hash or "")
    user.session_version = (user.session_version or 0) + 1
    events.record(session, "password:breached", user, found_at="sign-in")
    # Made after the change: the link is bound to the password as it is now.
    token = tokens.make(user, tokens.Purpose.RESET_PASSWORD)
    mail.send(
        user.email,
        "password_breached",
        user=user,
        link=external_url("accounts.reset_password", token=token),
    )
    return True


def is_turned_off(user: User | None, password: str) -> bool:
    """After a failed sign-in: was `password` the breached one we turned off for `user`?"""
    stored = (user.password_hash or "") if user is not None else ""
    if not stored.startswith(TURNED_OFF):
        return False
    return passwords.verify_password(stored.removeprefix(TURNED_OFF), password)
