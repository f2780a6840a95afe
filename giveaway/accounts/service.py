"""Account rules, shared by the web, the CLI and the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from giveaway import clock, dialect, mail
from giveaway.accounts import passwords, tokens
from giveaway.accounts.models import User
from giveaway.events import service as events
from giveaway.inputs import caseless
from giveaway.links import external_url

USERNAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,48}[A-Za-z0-9])?\Z")
USERNAME_MAX_LENGTH = 50
EMAIL_MAX_LENGTH = 254
USERNAME_RULE = lazy_gettext(
    "Use 1 to 50 letters, digits, dots, dashes or underscores, "
    "starting and ending with a letter or digit."
)


@dataclass
class Problems(Exception):
    """Field name → list of messages; raised when input breaks a rule."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def by_email(session: Session, email: str) -> User | None:
    """The account whose address is `email` in any letter case, on either database."""
    return session.scalar(select(User).where(User.email_key == caseless(email.strip())))


def lock_account(session: Session, user: User) -> User:
    """Hold the account's row until this transaction ends, and read it afresh.

    Changes that depend on the account's state (a claim needs "never had 2FA";
    turning 2FA on, a new set of recovery codes) take this first, so two of them
    at once run one after the other and each sees what the other did.
    PostgreSQL locks the row (FOR UPDATE); SQLite has no row locks, so an
    UPDATE that changes nothing takes the database's write lock instead.
    """
    dialect.lock_row(session, user, touch="session_version")
    return user


def normalize_email(email: str) -> str:
    """A deliverable-looking address, or ValueError with the reason."""
    if len(email) > EMAIL_MAX_LENGTH * 2:
        # Not worth parsing (and parsing megabytes takes seconds).
        raise ValueError(f"it is longer than {EMAIL_MAX_LENGTH} characters")
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def check_username(session: Session, username: str, problems: Problems) -> None:
    if not USERNAME_RE.match(username):
        problems.add("username", str(USERNAME_RULE))
    elif by_username(session, username) is not None:
        problems.add("username", _("This username is taken. Please choose another one."))


def registration_problems(
    session: Session, username: str, email: str, password: str, *, check_breach: bool = True
) -> tuple[Problems, str]:
    """Every rule a registration breaks, and the normalised email address."""
    problems = Problems()
    username = username.strip()
    # A field that fails its length check is not looked at further: checking an
    # address of megabytes costs seconds of CPU.
    if len(username) > USERNAME_MAX_LENGTH:
        problems.add("username", str(USERNAME_RULE))
        username = ""
    if len(email) > EMAIL_MAX_LENGTH:
        problems.add(
            "email",
            _(
                "This email address is not valid: use at most %(num)s characters.",
                num=EMAIL_MAX_LENGTH,
            ),
        )
        email = ""
    if len(password) > passwords.MAX_LENGTH:
        problems.add("password", _("Use at most %(num)s characters.", num=passwords.MAX_LENGTH))
        password = ""
    if username:
        check_username(session, username, problems)
    if email.strip():
        try:
            email = normalize_email(email)
        except ValueError:
            # The validator's own reason is English only: say what a valid address looks like.
            problems.add(
                "email",
                _(
                    "This email address is not valid. Enter a whole address, such as "
                    "name@example.org."
                ),
            )
        else:
            if by_email(session, email) is not None:
                problems.add("email", _("An account already uses this email address."))
    if password:
        for message in passwords.problems(
            password, username=username, email=email, check_breach=check_breach
        ):
            problems.add("password", message)
    return problems, email


def register(
    session: Session, username: str, email: str, password: str, *, send_mail: bool = True
) -> User:
    """Create an account after checking every rule; raises Problems."""
    username = username.strip()
    problems, email = registration_problems(session, username, email, password)
    if not username:
        problems.add("username", str(USERNAME_RULE))
    if not password:
        problems.add("password", passwords.too_short_message())
    if problems:
        raise problems
    user = User(
        username=username,
        email=email,
        password_hash=passwords.hash_password(password),
        password_changed_at=clock.now(),
        created_at=clock.now(),
    )
    # Two registrations racing for one name both pass the checks above; the
    # unique indexes decide, and the loser gets the same message as above.
    # (A rollback, not a savepoint: pysqlite's savepoints would commit early.
    # Registration is the first write of its unit of work.)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        if by_username(session, username) is not None:
            problems.add("username", _("This username is taken. Please choose another one."))
        else:
            problems.add("email", _("An account already uses this email address."))
        raise problems from None
    events.record(session, "account:created", user)
    if send_mail:
        send_verification(user)
    return user


def send_verification(user: User) -> None:
    token = tokens.make(user, tokens.Purpose.VERIFY_EMAIL)
    mail.send(
        user.email,
        "verify_email",
        user=user,
        link=external_url("accounts.verify_email", token=token),
    )


def verify_email(session: Session, token: str) -> User:
    user = tokens.load(token, tokens.Purpose.VERIFY_EMAIL, lambda ident: session.get(User, ident))
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
        events.record(session, "account:email_verified", user, email=user.email)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user for this username and password, or None; records the attempt.

    A wrong username and a wrong password take the same time and give the same
    answer.
    """
    user = by_username(session, username.strip()) if username else None
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None:
        events.record(session, "login:failure", None, reason="unknown user")
        return None
    if not ok:
        events.record(session, "login:failure", user, reason="wrong password")
        return None
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def record_login(session: Session, user: User, *, method: str = "password") -> None:
    user.last_login_at = clock.now()
    events.record(session, "login:success", user, method=method)


def set_password(session: Session, user: User, password: str, *, kind: str) -> None:
    """Set a new password after checking the rules; raises Problems.

    `kind` is the event: "password:changed", "password:reset" or
    "account:activated". Setting a password voids every older password link and
    ends other sessions.
    """
    problems = Problems()
    for message in passwords.problems(password, username=user.username, email=user.email):
        problems.add("password", message)
    if problems:
        raise problems
    # The link (or the current password) was checked against this hash; a second
    # request with the same link at the same moment finds it changed and stops.
    checked_against = user.password_hash
    lock_account(session, user)
    if user.password_hash != checked_against:
        problems.add(
            "password", _("This link has already been used, or your password changed since.")
        )
        raise problems
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = clock.now()
    user.session_version = (user.session_version or 0) + 1
    events.record(session, kind, user)
    if kind == "account:activated" and user.email_verified_at is None:
        # The activation link reached this address: it is verified.
        user.email_verified_at = clock.now()
        events.record(session, "account:email_verified", user, email=user.email)
    mail.send(user.email, "password_changed", user=user, kind=kind)


def request_password_reset(session: Session, identifier: str) -> User | None:
    """Email a reset (or activation) link to the account named by username or email.

    Returns the user for tests; the page says the same thing either way so it
    does not reveal which accounts exist.
    """
    identifier = identifier.strip()
    user = by_email(session, identifier) if "@" in identifier else by_username(session, identifier)
    if user is None:
        return None
    if user.password_hash is None:
        send_activation(user)
    else:
        token = tokens.make(user, tokens.Purpose.RESET_PASSWORD)
        mail.send(
            user.email,
            "reset_password",
            user=user,
            link=external_url("accounts.reset_password", token=token),
        )
    events.record(session, "password:reset_requested", user)
    return user


def send_activation(user: User) -> None:
    token = tokens.make(user, tokens.Purpose.ACTIVATE)
    mail.send(
        user.email,
        "activate_account",
        user=user,
        link=external_url("accounts.activate", token=token),
    )


def load_password_token(session: Session, token: str, purpose: tokens.Purpose) -> User:
    return tokens.load(token, purpose, lambda ident: session.get(User, ident))


def create_admin(session: Session, username: str, email: str, password: str) -> User:
    """An administrator account with a verified email; raises Problems."""
    user = register(session, username, email, password, send_mail=False)
    user.is_admin = True
    user.email_verified_at = clock.now()
    events.record(session, "account:admin_created", user)
    return user
