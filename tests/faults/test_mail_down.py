"""The mail server is down when a maintainer claims: the claim stands, the receipt waits.

A real SMTP server (aiosmtpd) on localhost, down at the moment of the claim and
up later: the receipt stays in the outbox and `giveaway send-mail` (cron) sends
it once, and only once.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from giveaway import clock, db
from giveaway.mail.models import OutboxMessage
from tests.conftest import login, make_pg_app
from tests.factories import make_batch, make_maintainer
from tests.faults.conftest import claim, shown_code

pytestmark = pytest.mark.postgres


class Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _receipts(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        rows = list(
            session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.template == "claim_receipt")
            )
        )
        session.expunge_all()  # read after the context ends
        return rows


def test_claim_stands_and_the_receipt_waits_for_the_mail_server(tmp_path, pg_url, caplog):
    port = _free_port()  # nothing listens here yet: the mail server is down
    app = make_pg_app(
        tmp_path,
        pg_url,
        MAIL_URL=f"smtp://127.0.0.1:{port}?tls=off&timeout=2",
        MAIL_DELIVERY="inline",
    )
    try:
        make_maintainer(app, "maria")
        make_batch(app, count=2)
        client = app.test_client()
        login(client, "maria")
        with caplog.at_level(logging.WARNING):
            response = claim(client)
        assert response.status_code == 303
        code = shown_code(client)
        assert code is not None  # the claim stands, the code is on the page
        [waiting] = _receipts(app)
        assert waiting.sent_at is None and waiting.failed_at is None
        assert waiting.attempts == 1 and waiting.last_error
        assert "will retry" in caplog.text

        # Still down when cron runs: kept, not lost, not marked failed.
        later = clock.now() + timedelta(minutes=2)
        app.config["CLOCK"] = lambda: later
        runner = app.test_cli_runner()
        result = runner.invoke(args=["send-mail"])
        assert result.exit_code == 0, result.output
        assert "Sent 0" in result.output
        [waiting] = _receipts(app)
        assert waiting.sent_at is None and waiting.attempts == 2

        # The mail server is back: the next cron run sends the receipt, once.
        collector = Collector()
        server = Controller(collector, hostname="127.0.0.1", port=port)
        server.start()
        try:
            much_later = later + timedelta(minutes=10)
            app.config["CLOCK"] = lambda: much_later
            result = runner.invoke(args=["send-mail"])
            assert "Sent 1" in result.output, result.output
            result = runner.invoke(args=["send-mail"])
            assert "Sent 0" in result.output, result.output
        finally:
            server.stop()
        assert len(collector.messages) == 1
        body = collector.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert code in body
        [sent] = _receipts(app)
        assert sent.sent_at is not None
    finally:
        app.extensions["db.engine"].dispose()
