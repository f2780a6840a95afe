"""Who may claim a code: every check, each with its reason and what to do about it.

`check(session, user, now)` is the one rule the page, the claim and the tests
share. The shipping region is not part of it: it is asked on the claim form,
decided by `ships_to` and forgotten.

The criteria about the account itself (a critical maintainer, never had 2FA,
a verified email, old enough) are also exported as SQL over User by
`account_criteria`, which the dashboard's funnel composes;
tests/claims/test_eligibility_sql.py holds them to the same answer as `check`.

`could_still_claim` is the other side of the same rule: whether this maintainer
could still get the free keys, today or later (the giveaway has not opened yet,
the pool is empty for now, the email is not verified yet). Turning on 2FA
would end that for good, so every page that offers 2FA asks it first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, false, select, true
from sqlalchemy.orm import Session, joinedload

from giveaway.accounts.models import User
from giveaway.claims import facts, regions
from giveaway.claims.models import PromoCode
from giveaway.projects import maintainers
from giveaway.twofactor import status


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
    # What the maintainer can do about a failed check (plain text), and a link: an
    # endpoint (and the endpoint to come back to), built when the page is shown.
    action: str = ""
    link_endpoint: str = ""
    link_text: str = ""
    link_next: str = ""

    @property
    def link(self) -> str:
        if not self.link_endpoint:
            return ""
        if self.link_next:
            return url_for(self.link_endpoint, next=url_for(self.link_next))
        return url_for(self.link_endpoint)


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
    def out_of_reach(self) -> list[Check]:
        """The checks not met that will not turn: why the free keys are not for this
        account, for good (a closed giveaway stays closed)."""
        return [
            c
            for c in self.checks
            if not c.passed
            and (
                c.key not in MAY_STILL_CHANGE or (c.key == "open" and self.window_state == "closed")
            )
        ]

    @property
    def could_still_claim(self) -> bool:
        """The free keys are still within reach: every check passes, or fails only for
        a reason that may still change. Turning on 2FA now would give them up."""
        return not self.out_of_reach

    @property
    def only_pool_empty(self) -> bool:
        """Everything passes except that no code is left: offer "tell me when codes return"."""
        return [c.key for c in self.checks if not c.passed] == ["codes_remain"]


# Checks that can still turn in the maintainer's favour: the giveaway opens (unless it
# has closed, which is final), the email gets verified, codes come back to the pool.
# The others (a critical project, never had 2FA, an old enough account, no code yet)
# do not change for the better, and "never had 2FA" is what turning it on would end.
MAY_STILL_CHANGE = frozenset({"open", "email", "codes_remain"})


# --- the criteria about the account -------------------------------------------------


def critical_projects(session: Session, user: User) -> list[str]:
    """Display names of the critical projects `user` is an Owner or Maintainer of."""
    return facts.of(session, user).critical_projects


def old_enough(user: User, cutoff: datetime | None) -> bool:
    """The account was created before the cut-off (any account when there is none)."""
    return cutoff is None or user.created_at < cutoff


def account_criteria(cutoff: datetime | None) -> dict[str, ColumnElement[bool]]:
    """The checks about the account itself as SQL over User, by Check key: what the
    funnel composes. `check` decides the same in Python (a test holds them equal)."""
    return {
        "critical": maintainers.is_critical_maintainer(User.id),
        "no_2fa": ~status.ever_had_2fa_sql(),
        "email": User.email_verified_at.is_not(None),
        "account_age": User.created_at < cutoff if cutoff is not None else true(),
    }


def could_still_claim_sql(cutoff: datetime | None, window_state: str) -> ColumnElement[bool]:
    """`Eligibility.could_still_claim` as SQL over User (a test holds the two equal)."""
    if window_state == "closed":
        return false()
    criteria = account_criteria(cutoff)
    not_claimed = ~exists().where(PromoCode.claimed_by_id == User.id)
    return and_(criteria["critical"], criteria["no_2fa"], criteria["account_age"], not_claimed)


def could_still_claim(session: Session, user: User, now: datetime) -> bool:
    """Would turning on 2FA now cost `user` the free keys? One query, for the 2FA
    changes themselves (the pages have the whole `check` and ask its property)."""
    rule = could_still_claim_sql(account_cutoff(), window().state(now))
    return bool(session.scalar(select(rule).select_from(User).where(User.id == user.id)))


# --- the pool -------------------------------------------------------------------------


def pool_and_claim(
    session: Session, user: User | None, now: datetime
) -> tuple[bool, PromoCode | None]:
    """Whether codes are left, and the user's claimed code (with its batch): one statement."""
    available = exists().where(PromoCode.is_available(now))
    code_id = facts.of(session, user).claimed_code_id if user is not None else None
    if code_id is None:
        return bool(session.scalar(select(available))), None
    code, has_codes = session.execute(
        select(PromoCode, available)
        .options(joinedload(PromoCode.batch))
        .where(PromoCode.id == code_id)
    ).one()
    return bool(has_codes), code


def codes_available(session: Session, now: datetime) -> bool:
    """Is at least one code free, usable and not past its expiry (cron job or not)?"""
    return bool(session.scalar(select(exists().where(PromoCode.is_available(now)))))


def moment(value: datetime) -> str:
    """A moment as the checklist and the walkthrough say it, in UTC: "2026-12-02 09:00 UTC"
    in English, the locale's medium date and short time elsewhere ("02.12.2026 09:00 UTC")."""
    locale = get_locale()
    if locale is None or locale.language == "en":
        return value.strftime("%Y-%m-%d %H:%M UTC")
    value = value.astimezone(UTC)
    day = babel_format_date(value, "medium", locale=locale)
    hour = babel_format_time(value, "short", tzinfo=UTC, locale=locale)
    return f"{day} {hour} UTC"


def check(session: Session, user: User | None, now: datetime) -> Eligibility:
    """Every eligibility check for `user` (None: signed out) at `now`.

    The words are in the locale speaking now (the page's): build it while it is shown."""
    w = window()
    state = w.state(now)
    available, claimed = pool_and_claim(session, user, now)
    checks: list[Check] = []

    if user is None:
        # Not a failure: nobody has been checked yet (shown as "?", not as a red cross).
        checks.append(
            Check(
                "signed_in",
                _("Signed in"),
                None,
                _(
                    "Sign in to check: with your account we can look at your projects and "
                    "your two-factor history."
                ),
                action=_(
                    "No account yet? Create one with the username you use on the package index."
                ),
                link_endpoint="accounts.login",
                link_next="giveaway.index",
                link_text=_("Sign in"),
            )
        )
    else:
        checks.append(
            Check(
                "signed_in",
                _("Signed in"),
                True,
                _("You are signed in as %(username)s.", username=user.username),
            )
        )

    open_title = _("The giveaway is open")
    if state == "before":
        assert w.opens_at is not None
        checks.append(
            Check(
                "open",
                open_title,
                False,
                _("The giveaway opens on %(moment)s.", moment=moment(w.opens_at)),
                action=_("Come back then: nothing needs doing before."),
            )
        )
    elif state == "closed":
        assert w.closes_at is not None
        checks.append(
            Check(
                "open",
                open_title,
                False,
                _(
                    "The giveaway ended on %(moment)s; no more codes are handed out.",
                    moment=moment(w.closes_at),
                ),
                action=_(
                    "You can still protect your account with a security key you buy or "
                    "with an authenticator app."
                ),
            )
        )
    else:
        reason = (
            _("Codes can be claimed until %(moment)s.", moment=moment(w.closes_at))
            if w.closes_at
            else _("Codes can be claimed.")
        )
        checks.append(Check("open", open_title, True, reason))

    critical_title = _("You maintain a critical project")
    no_2fa_title = _("You have never turned on two-factor authentication")
    email_title = _("Your email address is verified")
    age_title = _("Your account is old enough")
    claimed_title = _("You have not claimed a code yet")
    projects: list[str] = []
    if user is None:
        for key, title in (
            ("critical", critical_title),
            ("no_2fa", no_2fa_title),
            ("email", email_title),
            ("account_age", age_title),
            ("not_claimed", claimed_title),
        ):
            checks.append(Check(key, title, None, _("We can tell once you are signed in.")))
    else:
        projects = critical_projects(session, user)
        if projects:
            checks.append(
                Check(
                    "critical",
                    critical_title,
                    True,
                    _(
                        "You are an Owner or Maintainer of: %(projects)s.",
                        projects=", ".join(projects),
                    ),
                )
            )
        else:
            checks.append(
                Check(
                    "critical",
                    critical_title,
                    False,
                    _(
                        "None of the projects you are an Owner or Maintainer of is among the "
                        "most downloaded 1% that are designated critical."
                    ),
                    action=_(
                        "Keys go to maintainers of critical projects only. Protecting your "
                        "account with an authenticator app or a key of your own is still a "
                        "good idea."
                    ),
                )
            )
        if status.ever_had_2fa(user):
            checks.append(
                Check(
                    "no_2fa",
                    no_2fa_title,
                    False,
                    _(
                        "Your account has had two-factor authentication, so you already have a "
                        "way to protect it. The keys are meant for maintainers starting from "
                        "nothing, and turning it off again does not change that."
                    ),
                    action=_("Keep using the method you have."),
                )
            )
        else:
            checks.append(
                Check(
                    "no_2fa",
                    no_2fa_title,
                    True,
                    _("Your account has never had two-factor authentication."),
                )
            )
        if user.email_verified:
            checks.append(
                Check("email", email_title, True, _("%(email)s is verified.", email=user.email))
            )
        else:
            checks.append(
                Check(
                    "email",
                    email_title,
                    False,
                    _(
                        "%(email)s is not verified yet. We send your code's receipt there.",
                        email=user.email,
                    ),
                    action=_(
                        "Open the link we emailed you, or ask for a new one on your account page."
                    ),
                    link_endpoint="accounts.account",
                    link_text=_("Your account"),
                )
            )
        cutoff = account_cutoff()
        if cutoff is None or old_enough(user, cutoff):
            reason = (
                _("Your account was created before %(moment)s.", moment=moment(cutoff))
                if cutoff
                else _("Any account can take part.")
            )
            checks.append(Check("account_age", age_title, True, reason))
        else:
            checks.append(
                Check(
                    "account_age",
                    age_title,
                    False,
                    _(
                        "Only accounts created before %(cutoff)s can take part; yours was "
                        "created on %(created)s.",
                        cutoff=moment(cutoff),
                        created=moment(user.created_at),
                    ),
                    action=_("If you also have an older account, sign in with that one."),
                )
            )
        if claimed is None:
            checks.append(
                Check(
                    "not_claimed",
                    claimed_title,
                    True,
                    _("Each maintainer can claim one code."),
                )
            )
        else:
            checks.append(
                Check(
                    "not_claimed",
                    claimed_title,
                    False,
                    _(
                        "You claimed your code on %(moment)s; it is shown on this page.",
                        moment=moment(claimed.claimed_at or now),
                    ),
                )
            )

    codes_title = _("Codes are left")
    if available:
        checks.append(Check("codes_remain", codes_title, True, _("There are codes left to claim.")))
    else:
        checks.append(
            Check(
                "codes_remain",
                codes_title,
                False,
                _("Every code has been claimed for now."),
                action=_(
                    "Ask us to email you if codes come back (for instance, unclaimed ones "
                    "returned to the pool)."
                ),
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
