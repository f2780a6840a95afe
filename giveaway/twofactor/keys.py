"""Security keys (WebAuthn credentials): registering, removing, signing in with one.

The ceremonies themselves (options, verification) are in webauthn.py, the one
module that imports py_webauthn; this one holds the account's rules: a name
for each key, one owner per key, a sign counter that only grows.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.accounts.service import lock_account
from giveaway.events import service as events
from giveaway.twofactor import status
from giveaway.twofactor import webauthn as wa
from giveaway.twofactor.changes import (
    TwoFactorError,
    after_removal,
    check_password,
    mark_enabled,
    notify,
    require_giving_up_keys,
    require_verified_email,
)
from giveaway.twofactor.models import LABEL_MAX_LENGTH, WebAuthnCredential


def registered(session: Session, user: User) -> list[WebAuthnCredential]:
    """The security keys on `user`'s account, oldest first."""
    return list(
        session.scalars(
            select(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == user.id)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
        )
    )


def has_signed_in_with_key(session: Session, user: User) -> bool:
    """True once one of the user's current keys passed a sign-in."""
    return bool(session.scalar(select(signed_in_with_key_sql(user.id))))


def signed_in_with_key_sql(user_id: Any = None) -> ColumnElement[bool]:
    """`has_signed_in_with_key` as SQL over User (or the given id or column)."""
    owner = User.id if user_id is None else user_id
    return exists().where(
        WebAuthnCredential.user_id == owner, WebAuthnCredential.last_used_at.is_not(None)
    )


def check_label(session: Session, user: User, label: object) -> str:
    if label is not None and not isinstance(label, str):
        # A hand-made JSON body: a number or a list is no name.
        raise TwoFactorError(_("The key's name must be text."), field="label")
    label = " ".join((label or "").split())
    if not label:
        raise TwoFactorError(
            _('Give the key a name, so you can tell your keys apart (for example "USB-C key").'),
            field="label",
        )
    if len(label) > LABEL_MAX_LENGTH:
        raise TwoFactorError(
            _("Use at most %(num)s characters for the name.", num=LABEL_MAX_LENGTH), field="label"
        )
    taken = session.scalar(
        select(WebAuthnCredential.id).where(
            WebAuthnCredential.user_id == user.id,
            func.lower(WebAuthnCredential.label) == label.lower(),
        )
    )
    if taken is not None:
        raise TwoFactorError(
            _('You already have a key named "%(label)s". Please choose another name.', label=label),
            field="label",
        )
    return label


def user_handle(session: Session, user: User) -> bytes:
    """The user's random WebAuthn handle, made on first use."""
    if user.webauthn_user_handle is None:
        # Two tabs asking at once must not each make one: the key registered
        # from the tab whose handle lost would never sign in.
        lock_account(session, user)
    if user.webauthn_user_handle is None:
        user.webauthn_user_handle = secrets.token_bytes(32)
        session.flush()
    return user.webauthn_user_handle


def _refs(credentials: list[WebAuthnCredential]) -> list[wa.KeyRef]:
    return [wa.KeyRef(c.credential_id, list(c.transports or [])) for c in credentials]


def registration_options(session: Session, user: User) -> tuple[str, bytes]:
    require_verified_email(user)
    return wa.registration_options(
        user_handle=user_handle(session, user),
        user_name=user.username,
        existing=_refs(registered(session, user)),
    )


def add_key(
    session: Session,
    user: User,
    label: str | None,
    credential: Any,
    challenge: bytes,
    *,
    give_up_keys: bool = False,
) -> WebAuthnCredential:
    """Verify a registration and keep the key; raises TwoFactorError.

    `give_up_keys`: they confirmed giving up the free keys they could still claim."""
    require_verified_email(user)
    # One 2FA change of an account at a time (two tabs), and none beside a claim.
    lock_account(session, user)
    require_giving_up_keys(session, user, give_up_keys)
    label = check_label(session, user, label)
    try:
        new = wa.verify_registration(credential, challenge)
    except wa.CeremonyError as exc:
        raise TwoFactorError(exc.message) from exc
    _refuse_registered(session, user, new.credential_id)
    first_method = not status.has_2fa(user)
    key = WebAuthnCredential(
        user_id=user.id,
        credential_id=new.credential_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        label=label,
        transports=new.transports,
        aaguid=new.aaguid,
        backup_eligible=new.backup_eligible,
        backup_state=new.backup_state,
        created_at=clock.now(),
    )
    try:
        # The same key registered to another account at this very moment: the
        # unique index decides, and the loser hears what it would have a moment
        # later. (A savepoint is safe here: the lock above began the transaction.)
        with session.begin_nested():
            session.add(key)
            session.flush()
    except IntegrityError:
        _refuse_registered(session, user, new.credential_id)
        check_label(session, user, label)
        raise
    mark_enabled(user)
    events.record(session, "2fa:key_added", user, key_id=key.id, label=label, first=first_method)
    notify(user, "twofactor_added", method="webauthn", label=label)
    return key


def _refuse_registered(session: Session, user: User, credential_id: bytes) -> None:
    owner = session.scalar(
        select(WebAuthnCredential.user_id).where(WebAuthnCredential.credential_id == credential_id)
    )
    if owner is not None:
        if owner == user.id:
            raise TwoFactorError(_("This security key is already registered to your account."))
        raise TwoFactorError(_("This security key cannot be registered. Please use another key."))


def remove_key(session: Session, user: User, key_id: int, password: str) -> WebAuthnCredential:
    check_password(user, password)
    # A double submit: the second one finds the key gone (not a failed DELETE).
    lock_account(session, user)
    key = session.scalar(
        select(WebAuthnCredential).where(
            WebAuthnCredential.id == key_id, WebAuthnCredential.user_id == user.id
        )
    )
    if key is None:
        raise TwoFactorError(_("There is no such security key on your account."))
    session.delete(key)
    session.flush()
    dropped = after_removal(session, user)
    events.record(session, "2fa:key_removed", user, key_id=key_id, label=key.label)
    notify(
        user,
        "twofactor_removed",
        method="webauthn",
        label=key.label,
        none_left=dropped,
    )
    return key


def authentication_options(session: Session, user: User) -> tuple[str, bytes]:
    credentials = registered(session, user)
    if not credentials:
        raise TwoFactorError(_("There is no security key on this account."))
    return wa.authentication_options(_refs(credentials))


def verify_key_signin(
    session: Session, user: User, credential: Any, challenge: bytes
) -> WebAuthnCredential:
    """Check an assertion from one of `user`'s keys; raises TwoFactorError."""
    try:
        credential_id = wa.credential_id_of(credential)
    except wa.CeremonyError as exc:
        raise TwoFactorError(exc.message) from exc
    key = session.scalar(
        select(WebAuthnCredential).where(
            WebAuthnCredential.credential_id == credential_id,
            WebAuthnCredential.user_id == user.id,
        )
    )
    handle = wa.user_handle_of(credential)
    if key is None or (handle is not None and handle != user.webauthn_user_handle):
        events.record(session, "login:2fa_failure", user, method="webauthn", reason="unknown key")
        raise TwoFactorError(
            _(
                "This security key is not registered to this account. Try another of your keys, "
                "or use a recovery code."
            )
        )
    try:
        assertion = wa.verify_authentication(credential, challenge, public_key=key.public_key)
    except wa.CeremonyError as exc:
        events.record(session, "login:2fa_failure", user, method="webauthn", reason=exc.message)
        raise TwoFactorError(exc.message) from exc
    new_count = assertion.new_sign_count
    # A counter must grow, unless the key keeps none (zero before and now).
    grows = (
        WebAuthnCredential.sign_count == 0
        if new_count == 0
        else WebAuthnCredential.sign_count < new_count
    )
    accepted = db.affected_rows(
        session.execute(
            update(WebAuthnCredential)
            .where(WebAuthnCredential.id == key.id, grows)
            .values(
                sign_count=new_count, last_used_at=clock.now(), backup_state=assertion.backup_state
            )
            .execution_options(synchronize_session="fetch")
        )
    )
    if accepted != 1:
        session.refresh(key)
        events.record(
            session,
            "2fa:sign_count_regression",
            user,
            key_id=key.id,
            label=key.label,
            stored=key.sign_count,
            received=new_count,
        )
        raise TwoFactorError(
            _(
                "This security key's counter went backwards, which can mean it was cloned. "
                "It was not accepted; sign in another way and contact support."
            )
        )
    session.refresh(key)
    return key
