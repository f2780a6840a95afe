"""A claim and a 2FA change at once, and a double-submitted "email me": one after the other.

Each test holds one transaction open (in this thread, on its own connection),
starts the other request in a second thread, lets it run into whatever the
first one holds, then commits the first. On PostgreSQL the account's row lock
orders them; on SQLite the database's write lock does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.claims.models import PromoCode, RestockRequest
from giveaway.events.models import Event
from giveaway.twofactor import totp as twofactor
from tests.conftest import login, make_user, post_form
from tests.factories import give_code, make_batch, make_maintainer

# How long the held transaction stays open while the other request runs into it.
HOLD_SECONDS = 0.8


def while_held(
    app: Any, hold: Callable[[], Any], other: Callable[[], Any]
) -> tuple[Any, Any, bool]:
    """Run `hold` in a request context of this thread and keep its transaction
    open while `other` runs in a second thread; then commit, and wait for `other`.

    Returns both results and whether `other` was still running when the held
    transaction committed (it waited for it).
    """
    started = threading.Event()

    def run_other() -> Any:
        started.set()
        return other()

    with ThreadPoolExecutor(max_workers=1) as pool:
        with app.test_request_context():
            held = hold()
            future: Future = pool.submit(run_other)
            started.wait(5)
            time.sleep(HOLD_SECONDS)
            waited = not future.done()
            db.commit()
        return held, future.result(timeout=60), waited


def _events(app: Any, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session().scalars(
                select(Event.kind)
                .where(
                    Event.user_id == user_id, Event.kind.in_(["claim:claimed", "2fa:totp_enabled"])
                )
                .order_by(Event.created_at, Event.id)
            )
        )


def _claimed_by(app: Any, user_id: int) -> str | None:
    with app.app_context():
        return db.session().scalar(select(PromoCode.code).where(PromoCode.claimed_by_id == user_id))


@pytest.fixture
def maria(any_app):  # type: ignore[no-untyped-def]
    any_app.config["RATELIMIT_ENABLED"] = False
    make_batch(any_app, count=3)
    return make_maintainer(any_app, "maria")


def test_a_claim_waits_for_totp_being_turned_on_and_is_then_refused(any_app, maria):
    """TOTP first: the claim in the other tab sees it and hands out nothing."""
    client = any_app.test_client()
    login(client, "maria")
    secret = pyotp.random_base32()

    def turn_on_totp() -> None:
        s = db.session()
        user = s.get(User, maria.id)
        # She could still claim: she ticked "I give up the free keys".
        twofactor.enable_totp(s, user, secret, pyotp.TOTP(secret).now(), give_up_keys=True)

    def claim() -> int:
        return post_form(client, "/giveaway/claim", {"region": "FR"}, page="/giveaway").status_code

    _, status, waited = while_held(any_app, turn_on_totp, claim)
    assert waited, "the claim did not wait for the 2FA change in progress"
    assert status == 403
    assert _claimed_by(any_app, maria.id) is None
    assert _events(any_app, maria.id) == ["2fa:totp_enabled"]


def test_totp_waits_for_a_claim_in_progress(any_app, maria):
    """The claim first: TOTP is turned on after it, and the record says so in that order."""
    from giveaway import clock
    from giveaway.accounts.service import lock_account
    from giveaway.claims import claim as claims

    secret = pyotp.random_base32()

    def claim() -> str:
        s = db.session()
        user = lock_account(s, s.get(User, maria.id))
        result = claims.claim(s, user, clock.now())
        assert result.code is not None
        return result.code.code

    def turn_on_totp() -> datetime | None:
        with any_app.test_request_context():
            s = db.session()
            user = s.get(User, maria.id)
            twofactor.enable_totp(s, user, secret, pyotp.TOTP(secret).now())
            db.commit()
            return user.first_2fa_enabled_at

    code, enabled_at, waited = while_held(any_app, claim, turn_on_totp)
    assert waited, "turning TOTP on did not wait for the claim in progress"
    assert _claimed_by(any_app, maria.id) == code
    assert enabled_at is not None
    assert _events(any_app, maria.id) == ["claim:claimed", "2fa:totp_enabled"]


def test_a_double_submitted_notify_me_is_one_request(any_app):
    """The second submit runs into the first one's row: it renews it, no 500."""
    any_app.config["RATELIMIT_ENABLED"] = False
    make_batch(any_app, codes=["ONLY-ONE"])
    give_code(any_app, make_user(any_app, "first"), "ONLY-ONE")
    maria = make_maintainer(any_app, "maria")
    client = any_app.test_client()
    login(client, "maria")
    assert "All codes are claimed for now" in client.get("/giveaway").get_data(as_text=True)

    def first_submit() -> None:
        db.session().add(
            RestockRequest(user_id=maria.id, created_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
        db.session().flush()

    def second_submit() -> int:
        return post_form(client, "/giveaway/notify", {}, page="/giveaway").status_code

    _, status, _ = while_held(any_app, first_submit, second_submit)
    assert status == 303
    with any_app.app_context():
        rows = db.session().scalars(select(RestockRequest)).all()
        assert [r.user_id for r in rows] == [maria.id]
        assert rows[0].notified_at is None and rows[0].created_at.year > 2026 - 1
    # And plainly twice in a row: still one row.
    assert post_form(client, "/giveaway/notify", {}, page="/giveaway").status_code == 303
    with any_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(RestockRequest)) == 1
