"""The process stops between a claim's commit and writing its receipt to the outbox.

The claim stands; the expiry job (cron) notices the receipt never reached the
outbox and queues it again, once.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from giveaway import clock, db, mail
from giveaway.accounts.models import User
from giveaway.claims import claim
from giveaway.mail.models import OutboxMessage
from tests.conftest import outbox_for
from tests.factories import make_batch, make_maintainer


def _receipts(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(
            sa.select(sa.func.count()).where(OutboxMessage.template == "claim_receipt")
        )


def test_a_lost_receipt_is_queued_again_once(any_app):
    make_batch(any_app, count=2)
    maria = make_maintainer(any_app, "maria")
    with any_app.app_context():
        session = db.session()
        result = claim.claim(session, session.get(User, maria.id), clock.now())
        # The receipt could not be rendered (it commits with the claim otherwise).
        mail.discard_queue()
        session.commit()
        code = result.code.code  # type: ignore[union-attr]
    assert _receipts(any_app) == 0

    runner = any_app.test_cli_runner()
    # Too early to call it lost (it may still be on its way).
    result = runner.invoke(args=["expire-codes"])
    assert result.exit_code == 0 and "lost" not in result.output
    assert _receipts(any_app) == 0

    later = clock.now() + timedelta(minutes=11)
    any_app.config["CLOCK"] = lambda: later
    result = runner.invoke(args=["expire-codes"])
    assert "1 lost claim receipts queued again" in result.output, result.output
    assert _receipts(any_app) == 1
    [message] = [m for m in outbox_for(any_app).messages if "promo code" in m["Subject"].lower()]
    assert code in message.get_body(("plain",)).get_content()

    result = runner.invoke(args=["expire-codes"])
    assert "lost" not in result.output
    assert _receipts(any_app) == 1
