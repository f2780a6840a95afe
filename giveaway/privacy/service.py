"""What is kept about a person, for how long, and how an account is deleted.

Deleting an account anonymises the user row instead of removing it: the row's
id stays, so a claimed code still points at it and the pool's counts (codes
claimed, codes left) do not change, while nothing on it says who claimed it
any more. Everything else that names or identifies the person goes: their
name and address, password, 2FA methods, roles, requests, the addresses of
their events and of the mail already sent to them. The confirmation email is
put in the outbox before the address is forgotten.

The region answer is not among the things to delete: it was never kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from giveaway import db, mail
from giveaway.accounts.models import User
from giveaway.admin.models import MandateReminder
from giveaway.claims.models import RestockRequest
from giveaway.critical.models import CriticalNotice
from giveaway.events import service as events
from giveaway.events.models import Event
from giveaway.mail.models import OutboxMessage
from giveaway.projects.models import Role
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential

DELETED_EVENT = "account:deleted"

# The kinds shown on a maintainer's security history, with what each means to them
# (worded in the reader's language when the history is shown: str() at use time).
HISTORY_KINDS: dict[str, LazyString] = {
    "login:success": lazy_gettext("Signed in"),
    "login:failure": lazy_gettext("Sign-in refused: wrong password"),
    "login:2fa_failure": lazy_gettext("Sign-in refused at the second step"),
    "account:created": lazy_gettext("Account created"),
    "account:activated": lazy_gettext("Account activated"),
    "account:email_verified": lazy_gettext("Email address verified"),
    "password:changed": lazy_gettext("Password changed"),
    "password:reset": lazy_gettext("Password reset by link"),
    "password:reset_requested": lazy_gettext("Password reset link requested"),
    "password:breached": lazy_gettext("Password turned off: it appears in a data breach"),
    "2fa:totp_enabled": lazy_gettext("Authenticator app added"),
    "2fa:totp_removed": lazy_gettext("Authenticator app removed"),
    "2fa:key_added": lazy_gettext("Security key added"),
    "2fa:key_removed": lazy_gettext("Security key removed"),
    "2fa:recovery_codes_generated": lazy_gettext("New recovery codes made"),
    "2fa:recovery_codes_confirmed": lazy_gettext("Recovery codes confirmed as saved"),
    "2fa:recovery_code_used": lazy_gettext("Recovery code used to sign in"),
    "2fa:reset": lazy_gettext("Two-factor authentication reset by an administrator"),
    "2fa:sign_count_regression": lazy_gettext("A security key reported an unexpected counter"),
    "claim:claimed": lazy_gettext("Promo code claimed"),
}
HISTORY_PREFIXES = ("login:", "account:", "password:", "2fa:")

# How a sign-in was made (the events' "method"), in words.
HISTORY_METHODS: dict[str, LazyString] = {
    "password": lazy_gettext("password"),
    "registration": lazy_gettext("registration"),
    "password:reset": lazy_gettext("password reset link"),
    "account:activated": lazy_gettext("activation link"),
    "totp": lazy_gettext("authenticator app"),
    "webauthn": lazy_gettext("security key"),
    "recovery_code": lazy_gettext("recovery code"),
}


def describe_kind(kind: str) -> str:
    """What an event of `kind` means to the account's owner, in their language."""
    text = HISTORY_KINDS.get(kind)
    return str(text) if text is not None else kind.split(":", 1)[-1].replace("_", " ")


def describe_method(method: object) -> str | None:
    """How a sign-in was made, in the reader's language (None when not said)."""
    if not method:
        return None
    text = HISTORY_METHODS.get(str(method))
    return str(text) if text is not None else str(method).replace("_", " ")


@dataclass(frozen=True)
class HistoryLine:
    when: datetime
    what: str
    method: str | None
    address: str | None
    by_someone_else: bool


def history(session: Session, user: User, *, limit: int = 200) -> list[HistoryLine]:
    """The user's own security history, newest first (sign-ins, 2FA changes, the claim)."""
    rows = session.scalars(
        select(Event)
        .where(
            Event.user_id == user.id,
            or_(
                Event.kind == "claim:claimed",
                *(Event.kind.startswith(prefix) for prefix in HISTORY_PREFIXES),
            ),
        )
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(limit)
    )
    lines = []
    for event in rows:
        detail = event.detail or {}
        method = detail.get("method")
        lines.append(
            HistoryLine(
                when=event.created_at,
                what=describe_kind(event.kind),
                method=describe_method(method),
                address=event.ip_address,
                by_someone_else=event.actor_id is not None and event.actor_id != user.id,
            )
        )
    return lines


def is_deleted(user: User) -> bool:
    return user.username.startswith("deleted:")


def delete_account(session: Session, user: User, *, actor: User | None = None) -> None:
    """Anonymise `user` (see the module's docstring); the caller commits."""

    by_admin = actor is not None and actor.id != user.id
    mail.send(
        mail.recipient(user.username, user.email),
        "account_deleted",
        user=user,
        by_admin=by_admin,
    )
    for model in (WebAuthnCredential, RecoveryCode, Role, RestockRequest, MandateReminder):
        session.execute(delete(model).where(model.user_id == user.id))
    session.execute(delete(CriticalNotice).where(CriticalNotice.user_id == user.id))
    # Their addresses in the audit trail; the events themselves stay (the claim's too).
    session.execute(update(Event).where(Event.user_id == user.id).values(ip_address=None))
    # Mail already sent to them keeps no address; the confirmation (not sent yet) does.
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == user.id, OutboxMessage.sent_at.is_not(None))
        .values(recipient="", body=None)
    )
    user.username = f"deleted:{user.id}"
    # A domain no one can register or receive mail at (RFC 2606's .invalid).
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.password_hash = None
    user.password_changed_at = None
    user.email_verified_at = None
    user.last_login_at = None
    user.totp_secret = None
    user.totp_last_step = None
    user.webauthn_user_handle = None
    user.is_admin = False
    user.session_version = (user.session_version or 0) + 1
    events.record(session, DELETED_EVENT, user, actor=actor if by_admin else None)
    # The deletion's own event keeps no address either.
    session.flush()
    session.execute(update(Event).where(Event.user_id == user.id).values(ip_address=None))


def forget_addresses(session: Session, now: datetime, days: int) -> int:
    """Remove the client address of every event older than `days` days; how many changed."""
    result = session.execute(
        update(Event)
        .where(Event.ip_address.is_not(None), Event.created_at < now - timedelta(days=days))
        .values(ip_address=None)
        .execution_options(synchronize_session=False)
    )
    return db.affected_rows(result) or 0
