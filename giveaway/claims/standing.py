"""Where an account stands: protected or not (and with what), and the one thing next.

The account page shows it. Nothing is decided here that another module
decides: the methods come from twofactor.status, the giveaway's side (a code
to claim, keys to register, recovery codes to save) from the set-up
walkthrough, which already composes eligibility and knows the next step. The
one thing added is the advice for an account whose steps are all done with a
single key and no other method: register a spare.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import Session

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import walkthrough
from giveaway.twofactor import status


@dataclass(frozen=True)
class Next:
    """The one thing the account page offers to do next, and where it is done."""

    title: str
    sentence: str
    endpoint: str
    link_text: str


@dataclass(frozen=True)
class Standing:
    methods: status.Methods
    walk: walkthrough.Walkthrough

    @property
    def protected(self) -> bool:
        """Signing in asks for a second factor."""
        return self.methods.enabled

    @property
    def could_claim(self) -> bool:
        """The free keys are still within reach: claim them before turning on 2FA."""
        return self.walk.path == "claim"

    @property
    def claimed(self) -> bool:
        return self.walk.code is not None

    @property
    def protection(self) -> list[str]:
        """The methods, in words: "2 security keys", "an authenticator app"…"""
        found = []
        keys = self.methods.security_keys
        if keys:
            found.append(ngettext("%(num)d security key", "%(num)d security keys", keys))
        if self.methods.totp:
            found.append(_("an authenticator app"))
        left = self.methods.recovery_codes_left
        if left:
            found.append(
                ngettext("%(num)d recovery code left", "%(num)d recovery codes left", left)
            )
        return found

    @property
    def next(self) -> Next | None:
        """The next step of the walkthrough, or the spare key; None when nothing is left."""
        step = self.walk.current
        if step is not None:
            if step.key == "claim":
                return Next(step.title, step.sentence, "giveaway.index", _("Claim your free keys"))
            started = self.walk.done_count > 0 and self.walk.path != "claim"
            return Next(
                step.title,
                step.sentence,
                "giveaway.setup",
                _("Continue the set-up steps") if started else _("Set it up step by step"),
            )
        if self.methods.security_keys == 1 and not self.methods.totp:
            return Next(
                _("Register a spare key"),
                _(
                    "You have one security key. Register a second one and keep it somewhere "
                    "safe: losing a key then never locks you out."
                ),
                "twofactor.security",
                _("Add a security key"),
            )
        return None


def of(session: Session, user: User) -> Standing:
    return Standing(
        methods=status.methods(session, user),
        walk=walkthrough.steps(session, user, now=clock.now()),
    )


def of_current_user() -> Standing:
    """The signed-in account's standing (a template global of the account page)."""
    return of(db.session(), current_user._get_current_object())
