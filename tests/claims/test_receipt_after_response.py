"""The claim's receipt is rendered and written after the response, and never lost.

The claim request commits the claim (which marks its receipt due) and nothing
else: no template, no MIME, no outbox row. The courier writes the receipt
after the response. A process that stops before the courier got to it loses
nothing: the expiry job writes the receipt of a claim left without one.
"""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from giveaway import clock, db
from giveaway.claims.models import PromoCode
from giveaway.mail import outbox as outbox_module
from giveaway.mail.courier import Courier
from giveaway.mail.models import OutboxMessage
from tests.conftest import login, post_form
from tests.factories import make_batch, make_maintainer


def _receipts(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(
            sa.select(sa.func.count()).where(OutboxMessage.template == "claim_receipt")
        )


def _claim(client):  # type: ignore[no-untyped-def]
    return post_form(client, "/giveaway/claim", {"region": "FR"}, page="/giveaway")


def test_the_request_renders_nothing_and_a_lost_receipt_comes_back_once(any_app, monkeypatch):
    any_app.config["MAIL_DELIVERY"] = "background"
    make_batch(any_app, count=2)
    make_maintainer(any_app, "maria")
    client = any_app.test_client()
    login(client, "maria")
    # The process stops before its courier runs: the work is kept, not run.
    held: list[object] = []
    monkeypatch.setattr(Courier, "submit_work", lambda self, work: held.append(work))
    rendered: list[str] = []
    real_build = outbox_module.build

    def build(to, template, **context):  # type: ignore[no-untyped-def]
        rendered.append(template)
        return real_build(to, template, **context)

    monkeypatch.setattr(outbox_module, "build", build)

    response = _claim(client)

    assert response.status_code == 303
    assert rendered == [] and len(held) == 1
    assert _receipts(any_app) == 0
    with any_app.app_context():
        code = db.session().scalar(sa.select(PromoCode).where(PromoCode.claimed_by_id.is_not(None)))
        assert code is not None and code.receipt_queued_at is not None

    # Ten minutes on, the expiry job finds the claim without its receipt.
    later = clock.now() + timedelta(minutes=11)
    any_app.config["CLOCK"] = lambda: later
    result = any_app.test_cli_runner().invoke(args=["expire-codes"])
    assert "1 lost claim receipts queued again" in result.output, result.output
    assert _receipts(any_app) == 1 and rendered == ["claim_receipt"]

    # Had the courier run late after all, it writes no second receipt.
    with any_app.app_context():
        maker = any_app.extensions["db.sessionmaker"]
        with maker() as session:
            outbox_module.run_after_commit(session, held[0])  # type: ignore[arg-type]
    assert _receipts(any_app) == 1


def test_the_courier_writes_and_sends_the_receipt_after_the_response(app, outbox):
    app.config["MAIL_DELIVERY"] = "background"
    make_batch(app, codes=["AFTER-THE-RESPONSE-1"])
    make_maintainer(app, "maria")
    client = app.test_client()
    login(client, "maria")

    assert _claim(client).status_code == 303

    deadline = time.monotonic() + 10
    while not outbox.to("maria@example.org") and time.monotonic() < deadline:
        time.sleep(0.05)
    [receipt] = outbox.to("maria@example.org")
    assert "AFTER-THE-RESPONSE-1" in receipt.get_body(("plain",)).get_content()
    assert _receipts(app) == 1
