"""The set-up walkthrough at /giveaway/setup: which steps are done, which comes next.

Nothing here is stored. Every step's progress is read from state the portal
keeps anyway (the verified email, the claimed code, the registered keys, the
recovery codes, a key's last sign-in), so the page can never disagree with the
account security page.

Redeeming the code happens in the vendor's store, which the portal cannot see:
that step counts as done once the first key is registered (the keys arrived).

Maintainers with a claimed code follow the "keys" path. Those who could still
claim one (eligibility.Eligibility.could_still_claim: the giveaway has not
opened, the pool is empty for now, or nothing stands in the way) follow the
"claim" path: claim first, since turning on 2FA now would give the keys up.
Everyone else (no critical project, 2FA before, an account too new, the
giveaway over) follows the "other" path: a key bought locally or an
authenticator app, and the page says why the free keys are not for them.
The portal never keeps the shipping country, so it cannot tell a maintainer
in a country the keys cannot reach from one who can claim: the claim path
says what to do then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session, joinedload

from giveaway import clock
from giveaway.accounts.models import User
from giveaway.claims import eligibility, facts
from giveaway.claims.models import PromoCode
from giveaway.twofactor import status

Path = Literal["keys", "claim", "other"]


@dataclass(frozen=True)
class Step:
    """One step: `action` names the one thing the page offers for it (see the template).

    `ready` says whether that action could be taken now (a key cannot be added
    before the email is verified, recovery codes need a second factor first).
    The page offers the action of the current step only, one thing at a time;
    a step `with_previous` is offered together with the step before it (the
    keys arrive, so the first one is registered, while "order the keys" cannot
    be seen to be done).
    """

    key: str
    title: str
    done: bool
    sentence: str
    action: str
    ready: bool = True
    with_previous: bool = False
    current: bool = False
    offered: bool = False

    @property
    def status(self) -> str:
        """The step's state in words (the page never relies on colour alone)."""
        if self.done:
            return _("Done")
        return _("Your next step") if self.current else _("To do")


@dataclass(frozen=True)
class Walkthrough:
    path: Path
    steps: list[Step] = field(default_factory=list)
    code: PromoCode | None = None
    key_count: int = 0
    totp: bool = False
    # On the "other" path: why the free keys are not for this account (one sentence).
    why_no_keys: str = ""

    @property
    def current(self) -> Step | None:
        """The first step not done yet; None when everything is done."""
        return next((s for s in self.steps if s.current), None)

    @property
    def done(self) -> bool:
        return all(s.done for s in self.steps)

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.done)

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


def _mark_current(steps: list[Step]) -> list[Step]:
    marked: list[Step] = []
    found = False
    for s in steps:
        is_current = not found and not s.done
        found = found or is_current
        offered = not s.done and s.ready
        offered = offered and (is_current or (s.with_previous and marked[-1].current))
        marked.append(replace(s, current=is_current, offered=offered))
    return marked


def _claim_sentence(result: eligibility.Eligibility) -> str:
    """What the claim step says, for the state the giveaway and the account are in."""
    if result.window_state == "before" and result.opens_at is not None:
        return _(
            "The giveaway opens on %(moment)s. Come back then and "
            "claim your code: it pays for two security keys.",
            moment=eligibility.moment(result.opens_at),
        )
    if not result.get("codes_remain").passed:
        return _(
            "You qualify, but every code is claimed for now. Codes come back (new batches, "
            "unused ones): ask on the giveaway page to be emailed when they do."
        )
    return _(
        "You maintain a critical project and your account never had two-factor "
        "authentication, so a code for two free security keys is yours to claim. Claim it "
        "before you turn on two-factor authentication. If the keys cannot be shipped to your "
        "country, the giveaway page tells you what to do instead."
    )


def _key_steps(verified: bool, keys: int) -> list[Step]:
    """Registering the two keys and signing in with one: the end of the keys path."""
    return [
        Step(
            "first_key",
            _("Register your first key"),
            keys >= 1,
            _(
                "When the keys arrive, plug in one of them, give it a name and press the button. "
                "Then touch the key when it blinks."
            ),
            "register_key",
            ready=verified,
            with_previous=True,
        ),
        Step(
            "second_key",
            _("Register your second key, the spare"),
            keys >= 2,
            _(
                "Now plug in the other key. A spare means that losing one key never locks you "
                "out, and you never need a full account recovery. Your browser refuses the key "
                "you already registered, so use the other one."
            ),
            "register_key",
            ready=verified and keys >= 1,
        ),
    ]


def _sign_in_step(done: bool, keys: int) -> Step:
    return Step(
        "sign_in_with_key",
        _("Sign in once with a key"),
        done,
        _(
            "Prove that it works: sign out, then sign in again with your password and one "
            "of your keys. You come back here afterwards."
        ),
        "sign_in_again",
        ready=keys >= 1,
    )


def steps(
    session: Session, user: User, code: PromoCode | None = None, now: datetime | None = None
) -> Walkthrough:
    """The walkthrough for `user`, derived from their state alone.

    `code`: the user's claimed code when the caller has it already (loaded with
    its batch); otherwise it is read here.
    """
    known = facts.of(session, user)
    if code is None and known.claimed_code_id is not None:
        code = session.get(PromoCode, known.claimed_code_id, options=[joinedload(PromoCode.batch)])
    keys = known.key_count
    has_totp = status.has_totp(user)
    verified = user.email_verified_at is not None
    # Saved means one code of the set was typed back, not merely shown once.
    recovery = known.recovery_codes_saved
    second_factor = keys >= 1 or has_totp
    verify = Step(
        "verify_email",
        _("Verify your email address"),
        verified,
        _(
            "Your address is how we can help you back into your account if you ever lose "
            "your keys, so it comes first. Open the link we emailed you."
        ),
        "resend_verification",
    )
    recovery_step = Step(
        "recovery_codes",
        _("Save your recovery codes"),
        recovery,
        _(
            "Recovery codes are your last resort: each one signs you in once if your keys "
            "are out of reach. Print them or keep them in a password manager, away from your "
            "keys."
        ),
        "recovery_codes",
        ready=second_factor,
    )
    if code is not None:
        keys_per_code = code.batch.keys_per_code
        found: list[Step] = [
            verify,
            Step(
                "redeem",
                _("Order your keys with the code"),
                keys >= 1,
                ngettext(
                    "Your code pays for %(num)d key in the vendor's store. We cannot see "
                    "the order, so this step counts as done once your first key is registered.",
                    "Your code pays for %(num)d keys in the vendor's store. We cannot see "
                    "the order, so this step counts as done once your first key is registered.",
                    keys_per_code,
                ),
                "copy_code",
            ),
            *_key_steps(verified, keys),
            recovery_step,
            _sign_in_step(known.signed_in_with_key, keys),
        ]
        return Walkthrough("keys", _mark_current(found), code=code, key_count=keys, totp=has_totp)
    result = eligibility.check(session, user, now or clock.now())
    if result.could_still_claim:
        claim_first: list[Step] = [
            verify,
            Step(
                "claim",
                _("Claim your free keys"),
                False,
                _claim_sentence(result),
                "claim_code",
                ready=verified,
            ),
            *(replace(s, ready=False, with_previous=False) for s in _key_steps(False, 0)),
            recovery_step,
            _sign_in_step(False, 0),
        ]
        return Walkthrough("claim", _mark_current(claim_first), key_count=keys, totp=has_totp)
    other: list[Step] = [
        verify,
        Step(
            "second_factor",
            _("Add a second factor"),
            second_factor,
            _(
                "Use an authenticator app on your phone or computer, or a security key you "
                "bought yourself. Either one is asked for after your password each time you "
                "sign in."
            ),
            "choose_method",
            ready=verified,
        ),
        recovery_step,
    ]
    why = result.out_of_reach[0].reason if result.out_of_reach else ""
    return Walkthrough(
        "other",
        _mark_current(other),
        code=None,
        key_count=keys,
        totp=has_totp,
        why_no_keys=why,
    )
