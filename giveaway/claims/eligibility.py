"""Who may claim a code: every check, each with its reason and what to do about it.

`check(session, user, now)` is the one rule the page, the claim and the tests
share. The shipping region is not part of it: it is asked on the claim form,
decided by `ships_to` and forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from giveaway.accounts.models import User
from giveaway.claims import regions
from giveaway.claims.models import PromoCode
from giveaway.claims.service import available_filter
from giveaway.projects.models import Project, Role, RoleName


class SettingError(ValueError):
    """A giveaway setting cannot be understood."""


def parse_time(name: str, value: object) -> datetime | None:
    """An ISO 8601 setting as an aware UTC datetime; empty means None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise SettingError(
                f"{name} must be an ISO 8601 date or date and time (e.g. 2026-07-01T12:00:00Z), "
                f"not {value!r}"
            ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    opens_at: datetime | None
    closes_at: datetime | None

    def state(self, now: datetime) -> str:
        """ "before", "open" or "closed"."""
        if self.opens_at is not None and now < self.opens_at:
            return "before"
        if self.closes_at is not None and now >= self.closes_at:
            return "closed"
        return "open"


def window() -> Window:
    cfg = current_app.config
    return Window(
        parse_time("GIVEAWAY_OPENS_AT", cfg.get("GIVEAWAY_OPENS_AT")),
        parse_time("GIVEAWAY_CLOSES_AT", cfg.get("GIVEAWAY_CLOSES_AT")),
    )


def account_cutoff() -> datetime | None:
    return parse_time("GIVEAWAY_ACCOUNT_CUTOFF", current_app.config.get("GIVEAWAY_ACCOUNT_CUTOFF"))


def eligible_regions() -> list[str]:
    return regions.normalize_list(current_app.config.get("ELIGIBLE_REGIONS") or [])


def check_settings() -> None:
    """Raise SettingError when a giveaway setting is unusable (called at start-up)."""
    w = window()
    account_cutoff()
    if w.opens_at and w.closes_at and w.closes_at <= w.opens_at:
        raise SettingError("GIVEAWAY_CLOSES_AT must be after GIVEAWAY_OPENS_AT")
    unknown = regions.unknown(eligible_regions())
    if unknown:
        raise SettingError(
            "ELIGIBLE_REGIONS has codes that are not ISO 3166-1 alpha-2: " + ", ".join(unknown)
        )


def ships_to(region: str) -> bool:
    """True when keys can be shipped to `region` (the answer is not kept anywhere)."""
    return regions.ships_to(region, eligible_regions())


@dataclass(frozen=True)
class Check:
    """One line of the checklist. `passed` is None when it cannot be told yet (signed out)."""

    key: str
    title: str
    passed: bool | None
    reason: str
    # What the maintainer can do about a failed check (plain text), and a link.
    action: str = ""
    link: str = ""
    link_text: str = ""


@dataclass
class Eligibility:
    checks: list[Check]
    window_state: str
    opens_at: datetime | None
    closes_at: datetime | None
    critical_projects: list[str] = field(default_factory=list)
    claimed: PromoCode | None = None
    codes_available: bool = False

    @property
    def eligible(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.passed is False]

    def get(self, key: str) -> Check:
        return next(c for c in self.checks if c.key == key)

    @property
    def only_pool_empty(self) -> bool:
        """Everything passes except that no code is left: offer "tell me when codes return"."""
        return [c.key for c in self.checks if not c.passed] == ["codes_remain"]


def critical_projects(session: Session, user: User) -> list[str]:
    """Display names of the critical projects `user` is an Owner or Maintainer of."""
    rows = session.scalars(
        select(Project.display_name)
        .join(Role, Role.project_id == Project.id)
        .where(
            Role.user_id == user.id,
            Role.role_name.in_([RoleName.OWNER, RoleName.MAINTAINER]),
            Project.critical_since.is_not(None),
        )
        .order_by(Project.name)
    )
    return list(rows)


def pool_and_claim(
    session: Session, user: User | None, now: datetime
) -> tuple[bool, PromoCode | None]:
    """Whether codes are left, and the user's claimed code: one round trip in the usual case."""
    available = exists().where(*available_filter(now))
    if user is None:
        return bool(session.scalar(select(available))), None
    mine = select(PromoCode.id).where(PromoCode.claimed_by_id == user.id).scalar_subquery()
    has_codes, code_id = session.execute(select(available, mine)).one()
    return bool(has_codes), (session.get(PromoCode, code_id) if code_id is not None else None)


def codes_available(session: Session, now: datetime) -> bool:
    """Is at least one code free, usable and not past its expiry (cron job or not)?"""
    return bool(session.scalar(select(exists().where(*available_filter(now)))))


def ever_used_2fa(user: User) -> bool:
    # first_2fa_enabled_at is never cleared: removing 2FA does not make anyone eligible again.
    return user.first_2fa_enabled_at is not None or bool(user.totp_secret)


def _fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def check(session: Session, user: User | None, now: datetime) -> Eligibility:
    """Every eligibility check for `user` (None: signed out) at `now`."""
    w = window()
    state = w.state(now)
    available, claimed = pool_and_claim(session, user, now)
    checks: list[Check] = []

    if user is None:
        checks.append(
            Check(
                "signed_in",
                "Signed in",
                False,
                "Sign in with your account on the index's portal so we can look at your projects.",
                action="No account yet? Create one with the username you use on the package index.",
                link="/account/login?next=/giveaway",
                link_text="Sign in",
            )
        )
    else:
        checks.append(
            Check("signed_in", "Signed in", True, f"You are signed in as {user.username}.")
        )

    if state == "before":
        assert w.opens_at is not None
        checks.append(
            Check(
                "open",
                "The giveaway is open",
                False,
                f"The giveaway opens on {_fmt(w.opens_at)}.",
                action="Come back then: nothing needs doing before.",
            )
        )
    elif state == "closed":
        assert w.closes_at is not None
        checks.append(
            Check(
                "open",
                "The giveaway is open",
                False,
                f"The giveaway ended on {_fmt(w.closes_at)}; no more codes are handed out.",
                action="You can still protect your account with a security key you buy or "
                "with an authenticator app.",
            )
        )
    else:
        until = f" until {_fmt(w.closes_at)}" if w.closes_at else ""
        checks.append(Check("open", "The giveaway is open", True, f"Codes can be claimed{until}."))

    projects: list[str] = []
    if user is None:
        for key, title in (
            ("critical", "You maintain a critical project"),
            ("no_2fa", "You have never turned on two-factor authentication"),
            ("email", "Your email address is verified"),
            ("account_age", "Your account is old enough"),
            ("not_claimed", "You have not claimed a code yet"),
        ):
            checks.append(Check(key, title, None, "We can tell once you are signed in."))
    else:
        projects = critical_projects(session, user)
        if projects:
            checks.append(
                Check(
                    "critical",
                    "You maintain a critical project",
                    True,
                    "You are an Owner or Maintainer of: " + ", ".join(projects) + ".",
                )
            )
        else:
            checks.append(
                Check(
                    "critical",
                    "You maintain a critical project",
                    False,
                    "None of the projects you are an Owner or Maintainer of is among the most "
                    "downloaded 1% that are designated critical.",
                    action="Keys go to maintainers of critical projects only. Protecting your "
                    "account with an authenticator app or a key of your own is still a good idea.",
                )
            )
        if ever_used_2fa(user):
            checks.append(
                Check(
                    "no_2fa",
                    "You have never turned on two-factor authentication",
                    False,
                    "Your account has had two-factor authentication, so you already have a way "
                    "to protect it. The keys are meant for maintainers starting from nothing, "
                    "and turning it off again does not change that.",
                    action="Keep using the method you have.",
                )
            )
        else:
            checks.append(
                Check(
                    "no_2fa",
                    "You have never turned on two-factor authentication",
                    True,
                    "Your account has never had two-factor authentication.",
                )
            )
        if user.email_verified:
            checks.append(
                Check("email", "Your email address is verified", True, f"{user.email} is verified.")
            )
        else:
            checks.append(
                Check(
                    "email",
                    "Your email address is verified",
                    False,
                    f"{user.email} is not verified yet. We send your code's receipt there.",
                    action="Open the link we emailed you, or ask for a new one on your account page.",
                    link="/account/",
                    link_text="Your account",
                )
            )
        cutoff = account_cutoff()
        if cutoff is None or user.created_at < cutoff:
            reason = (
                f"Your account was created before {_fmt(cutoff)}."
                if cutoff
                else "Any account can take part."
            )
            checks.append(Check("account_age", "Your account is old enough", True, reason))
        else:
            checks.append(
                Check(
                    "account_age",
                    "Your account is old enough",
                    False,
                    f"Only accounts created before {_fmt(cutoff)} can take part; yours was "
                    f"created on {_fmt(user.created_at)}.",
                    action="If you also have an older account, sign in with that one.",
                )
            )
        if claimed is None:
            checks.append(
                Check(
                    "not_claimed",
                    "You have not claimed a code yet",
                    True,
                    "Each maintainer can claim one code.",
                )
            )
        else:
            checks.append(
                Check(
                    "not_claimed",
                    "You have not claimed a code yet",
                    False,
                    f"You claimed your code on {_fmt(claimed.claimed_at or now)}; it is shown "
                    "on this page.",
                )
            )

    if available:
        checks.append(
            Check("codes_remain", "Codes are left", True, "There are codes left to claim.")
        )
    else:
        checks.append(
            Check(
                "codes_remain",
                "Codes are left",
                False,
                "Every code has been claimed for now.",
                action="Ask us to email you if codes come back (for instance, unclaimed ones "
                "returned to the pool).",
            )
        )
    return Eligibility(
        checks=checks,
        window_state=state,
        opens_at=w.opens_at,
        closes_at=w.closes_at,
        critical_projects=projects,
        claimed=claimed,
        codes_available=available,
    )
