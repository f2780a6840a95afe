"""Two-factor rules, shared by the web, the admin, eligibility and the tests.

Every add, removal and recovery-code use records an event and emails the
account. The first time any method is turned on is kept forever in
User.first_2fa_enabled_at (eligibility for the giveaway depends on it).
Single-use rules (TOTP steps, recovery codes, sign counts) are enforced with
conditional UPDATEs, so two concurrent requests cannot both pass.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from giveaway import clock, mail
from giveaway.accounts import passwords
from giveaway.accounts.models import User
from giveaway.accounts.service import lock_account
from giveaway.events import service as events
from giveaway.twofactor import recovery, totp
from giveaway.twofactor import webauthn as wa
from giveaway.twofactor.models import (
    LABEL_MAX_LENGTH,
    RecoveryCode,
    UsedChallenge,
    WebAuthnCredential,
)


class TwoFactorError(Exception):
    """A rule said no; `message` is for the person, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Methods:
    """The 2FA methods an account has now."""

    security_keys: int
    totp: bool
    recovery_codes_left: int
    first_enabled_at: datetime | None

    @property
    def enabled(self) -> bool:
        """True when sign-in asks for a second factor (recovery codes alone do not count)."""
        return self.security_keys > 0 or self.totp

    @property
    def names(self) -> list[str]:
        found = []
        if self.security_keys:
            found.append("webauthn")
        if self.totp:
            found.append("totp")
        if self.recovery_codes_left:
            found.append("recovery_codes")
        return found

    def __bool__(self) -> bool:
        return self.enabled


# --- questions other areas ask ------------------------------------------------


def _session_of(user: User) -> Session:
    from sqlalchemy.orm import object_session

    from giveaway import db

    return object_session(user) or db.session()


def key_count(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == user.id)
        )
        or 0
    )


def recovery_codes_left(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def has_recovery_codes(session: Session, user: User) -> bool:
    return recovery_codes_left(session, user) > 0


def has_2fa(user: User) -> bool:
    """True when signing in as `user` needs a second factor now."""
    if user.totp_secret:
        return True
    return key_count(_session_of(user), user) > 0


def methods(session: Session, user: User) -> Methods:
    return Methods(
        security_keys=key_count(session, user),
        totp=bool(user.totp_secret),
        recovery_codes_left=recovery_codes_left(session, user),
        first_enabled_at=user.first_2fa_enabled_at,
    )


def has_signed_in_with_key(session: Session, user: User) -> bool:
    """True once one of the user's current keys passed a sign-in."""
    return (
        session.scalar(
            select(func.count())
            .select_from(WebAuthnCredential)
            .where(
                WebAuthnCredential.user_id == user.id,
                WebAuthnCredential.last_used_at.is_not(None),
            )
        )
        or 0
    ) > 0


def keys(session: Session, user: User) -> list[WebAuthnCredential]:
    return list(
        session.scalars(
            select(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == user.id)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
        )
    )


# --- shared steps ---------------------------------------------------------------


def require_verified_email(user: User) -> None:
    if not user.email_verified:
        raise TwoFactorError(
            "Please verify your email address before adding two-factor authentication: "
            "if you ever lose your keys, it is how we can help you back into your account."
        )


def check_password(user: User, password: str) -> None:
    if not passwords.verify_password(user.password_hash, password or ""):
        raise TwoFactorError("Your password is not correct.", field="password")


def _enabled(session: Session, user: User) -> None:
    """A method was just turned on: remember the first time, forever."""
    if user.first_2fa_enabled_at is None:
        user.first_2fa_enabled_at = clock.now()


def _notify(user: User, template: str, **context: Any) -> None:
    mail.send(user.email, template, user=user, **context)


def _after_removal(session: Session, user: User) -> bool:
    """When no method is left, recovery codes have nothing to recover: drop them."""
    if user.totp_secret or key_count(session, user):
        return False
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return True


def consume_challenge(session: Session, challenge: bytes) -> bool:
    """Mark a WebAuthn challenge used; False when it was used before (a replay)."""
    from hashlib import sha256

    now = clock.now()
    session.execute(delete(UsedChallenge).where(UsedChallenge.expires_at < now))
    values = {
        "digest": sha256(challenge).hexdigest(),
        "expires_at": now + timedelta(seconds=2 * current_app.config["WEBAUTHN_CHALLENGE_TTL"]),
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the portal runs on these two
        exists = session.get(UsedChallenge, values["digest"])
        if exists:
            return False
        session.execute(insert(UsedChallenge).values(**values))
        return True
    inserted = session.execute(
        dialect_insert(UsedChallenge)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(UsedChallenge.digest)
    ).scalar()
    return inserted is not None


# --- security keys ------------------------------------------------------------------


def check_label(session: Session, user: User, label: object) -> str:
    if label is not None and not isinstance(label, str):
        # A hand-made JSON body: a number or a list is no name.
        raise TwoFactorError("The key's name must be text.", field="label")
    label = " ".join((label or "").split())
    if not label:
        raise TwoFactorError(
            'Give the key a name, so you can tell your keys apart (for example "USB-C key").',
            field="label",
        )
    if len(label) > LABEL_MAX_LENGTH:
        raise TwoFactorError(
            f"Use at most {LABEL_MAX_LENGTH} characters for the name.", field="label"
        )
    taken = session.scalar(
        select(WebAuthnCredential.id).where(
            WebAuthnCredential.user_id == user.id,
            func.lower(WebAuthnCredential.label) == label.lower(),
        )
    )
    if taken is not None:
        raise TwoFactorError(
            f'You already have a key named "{label}". Please choose another name.',
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
        existing=_refs(keys(session, user)),
    )


def add_key(
    session: Session, user: User, label: str | None, credential: Any, challenge: bytes
) -> WebAuthnCredential:
    """Verify a registration and keep the key; raises TwoFactorError."""
    require_verified_email(user)
    # One 2FA change of an account at a time (two tabs), and none beside a claim.
    lock_account(session, user)
    label = check_label(session, user, label)
    try:
        new = wa.verify_registration(credential, challenge)
    except wa.CeremonyError as exc:
        raise TwoFactorError(exc.message) from exc
    _refuse_registered(session, user, new.credential_id)
    first_method = not has_2fa(user)
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
    _enabled(session, user)
    events.record(session, "2fa:key_added", user, key_id=key.id, label=label, first=first_method)
    _notify(user, "twofactor_added", method=f'a security key named "{label}"')
    return key


def _refuse_registered(session: Session, user: User, credential_id: bytes) -> None:
    owner = session.scalar(
        select(WebAuthnCredential.user_id).where(WebAuthnCredential.credential_id == credential_id)
    )
    if owner is not None:
        if owner == user.id:
            raise TwoFactorError("This security key is already registered to your account.")
        raise TwoFactorError("This security key cannot be registered. Please use another key.")


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
        raise TwoFactorError("There is no such security key on your account.")
    session.delete(key)
    session.flush()
    dropped = _after_removal(session, user)
    events.record(session, "2fa:key_removed", user, key_id=key_id, label=key.label)
    _notify(
        user,
        "twofactor_removed",
        method=f'the security key named "{key.label}"',
        none_left=dropped,
    )
    return key


def authentication_options(session: Session, user: User) -> tuple[str, bytes]:
    credentials = keys(session, user)
    if not credentials:
        raise TwoFactorError("There is no security key on this account.")
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
        raise TwoFactorError("This security key is not registered to your account.")
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
    accepted = session.execute(
        update(WebAuthnCredential)
        .where(WebAuthnCredential.id == key.id, grows)
        .values(sign_count=new_count, last_used_at=clock.now(), backup_state=assertion.backup_state)
        .execution_options(synchronize_session="fetch")
    ).rowcount  # type: ignore[attr-defined]
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
            "This security key's counter went backwards, which can mean it was cloned. "
            "It was not accepted; sign in another way and contact support."
        )
    session.refresh(key)
    return key


# --- TOTP ---------------------------------------------------------------------------


def totp_issuer() -> str:
    return current_app.config["TOTP_ISSUER"] or current_app.config["SITE_NAME"]


def new_totp_secret(user: User) -> str:
    require_verified_email(user)
    if user.totp_secret:
        raise TwoFactorError("An authenticator app is already set up on your account.")
    return totp.new_secret()


def enable_totp(session: Session, user: User, secret: str, code: str) -> None:
    """Turn TOTP on once the person proves the app has `secret`."""
    require_verified_email(user)
    # A claim in another tab checks "never had 2FA" under the same lock.
    lock_account(session, user)
    if user.totp_secret:
        raise TwoFactorError("An authenticator app is already set up on your account.")
    step = totp.matching_step(secret, code, clock.now(), None)
    if step is None:
        raise TwoFactorError(
            "That code is not right. Check the time on your phone, then enter the "
            "current code from the app.",
            field="code",
        )
    user.totp_secret = secret
    user.totp_last_step = step
    _enabled(session, user)
    events.record(session, "2fa:totp_enabled", user)
    _notify(user, "twofactor_added", method="an authenticator app (TOTP)")


def remove_totp(session: Session, user: User, password: str) -> None:
    check_password(user, password)
    lock_account(session, user)
    if not user.totp_secret:
        raise TwoFactorError("No authenticator app is set up on your account.")
    user.totp_secret = None
    user.totp_last_step = None
    session.flush()
    dropped = _after_removal(session, user)
    events.record(session, "2fa:totp_removed", user)
    _notify(user, "twofactor_removed", method="the authenticator app (TOTP)", none_left=dropped)


def verify_totp(session: Session, user: User, code: str) -> bool:
    """True (and the step used up) when `code` is a fresh valid code of `user`."""
    if not user.totp_secret:
        return False
    step = totp.matching_step(user.totp_secret, code, clock.now(), user.totp_last_step)
    if step is None:
        events.record(session, "login:2fa_failure", user, method="totp", reason="wrong code")
        return False
    accepted = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    ).rowcount  # type: ignore[attr-defined]
    if accepted != 1:
        events.record(session, "login:2fa_failure", user, method="totp", reason="code reused")
        return False
    return True


# --- recovery codes -------------------------------------------------------------------


def generate_recovery_codes(session: Session, user: User) -> list[str]:
    """New codes, replacing every older one; the plain codes are returned once."""
    # Two requests at once (a double submit) must not both add a set: the
    # second waits, then deletes the set the first made.
    lock_account(session, user)
    if not has_2fa(user):
        raise TwoFactorError(
            "Add a security key or an authenticator app first: recovery codes are a "
            "backup for them."
        )
    replaced = session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id)).rowcount  # type: ignore[attr-defined]
    codes = recovery.generate(current_app.config["RECOVERY_CODE_COUNT"])
    now = clock.now()
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=recovery.digest(code), created_at=now))
    session.flush()
    events.record(
        session, "2fa:recovery_codes_generated", user, count=len(codes), replaced=replaced
    )
    _notify(user, "twofactor_added", method="a new set of recovery codes", replaced=bool(replaced))
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    """True (and the code used up) when `code` is one of the user's unused codes."""
    if not recovery.looks_like_code(code):
        events.record(session, "login:2fa_failure", user, method="recovery_code", reason="format")
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == recovery.digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if used != 1:
        events.record(
            session, "login:2fa_failure", user, method="recovery_code", reason="wrong code"
        )
        return False
    left = recovery_codes_left(session, user)
    events.record(session, "2fa:recovery_code_used", user, left=left)
    _notify(user, "twofactor_recovery_used", left=left)
    return True


def recovery_codes_low(session: Session, user: User) -> bool:
    """True when codes exist but few are left (the page warns)."""
    left = recovery_codes_left(session, user)
    total = session.scalar(
        select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)
    )
    return bool(total) and left <= current_app.config["RECOVERY_CODES_LOW"]


# --- administration -----------------------------------------------------------------------


def reset_2fa(session: Session, user: User, actor: User | None) -> Methods:
    """Remove every key, TOTP and recovery code (account recovery by an admin).

    first_2fa_enabled_at stays; other sessions end. Returns what was removed.
    """
    before = methods(session, user)
    session.execute(delete(WebAuthnCredential).where(WebAuthnCredential.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.totp_secret = None
    user.totp_last_step = None
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    events.record(
        session,
        "2fa:reset",
        user,
        actor=actor,
        security_keys=before.security_keys,
        totp=before.totp,
        recovery_codes_left=before.recovery_codes_left,
    )
    _notify(user, "twofactor_reset", removed=before)
    return before
