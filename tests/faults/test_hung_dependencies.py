"""A network dependency that hangs costs seconds and a stated fallback, never the portal.

Each dependency is replaced by a local server that accepts connections and then
never answers (what a SIGSTOPped Redis, a wedged mail relay or a stuck API look
like), or answers one byte at a time. The page must come back within a bound,
and the fallback the README states must happen: rate limits skipped (fail
open), the receipt kept in the outbox for `send-mail`, the password accepted
without the breach check.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from giveaway import db
from giveaway.accounts import passwords
from giveaway.mail.models import OutboxMessage
from tests.conftest import AuthActions, login, make_sqlite_app, make_user, post_form
from tests.factories import make_batch, make_maintainer
from tests.faults.conftest import Silent, claim, shown_code, within


def test_a_hung_redis_costs_each_request_seconds_not_the_portal(tmp_path, sqlite_template, caplog):
    """Issue 12, defect 1: redis-py's default is to wait forever for a reply."""
    with Silent() as redis_server:
        app = make_sqlite_app(
            tmp_path,
            sqlite_template,
            RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{redis_server.port}/5",
            RATELIMIT_STORAGE_TIMEOUT=0.3,
            RATELIMIT_LOGIN="1/minute",
            RATELIMIT_CLAIM="1/minute",
        )
        try:
            make_maintainer(app, "maria")
            make_batch(app, count=2)
            client = app.test_client()
            with caplog.at_level(logging.WARNING):
                # Limits fail open: a second wrong password is a 401, not a 429.
                for _ in range(2):
                    wrong = within(
                        20,
                        post_form,
                        client,
                        "/account/login",
                        {"username": "maria", "password": "wrong" * 3},
                    )
                    assert wrong.status_code == 401
                assert within(20, login, client, "maria").status_code == 302
                assert within(20, claim, client).status_code == 303
            assert shown_code(client) is not None
            assert any(r.name.startswith("flask-limiter") for r in caplog.records)

            # A dozen sign-ins at once (what stopped every worker thread) all come
            # back, and the pages without limits answer meanwhile.
            def sign_in(n: int) -> int:
                make_user(app, f"crowd{n}")
                return login(app.test_client(), f"crowd{n}").status_code

            pool = ThreadPoolExecutor(12)
            try:
                started = time.monotonic()
                futures = [pool.submit(sign_in, n) for n in range(12)]
                assert within(20, app.test_client().get, "/healthz").status_code == 200
                assert within(20, app.test_client().get, "/").status_code == 200
                statuses = [f.result(timeout=90) for f in futures]
                assert time.monotonic() - started < 90
            finally:
                pool.shutdown(wait=False, cancel_futures=True)  # never wait on a hung thread
            assert statuses == [302] * 12
        finally:
            app.extensions["db.engine"].dispose()


def _receipts(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        rows = list(
            session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.template == "claim_receipt")
            )
        )
        session.expunge_all()
        return rows


def test_a_hung_mail_server_keeps_the_receipt_and_not_the_maintainer(tmp_path, sqlite_template):
    with Silent() as smtp_server:
        app = make_sqlite_app(
            tmp_path,
            sqlite_template,
            MAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}?tls=off&timeout=1",
            MAIL_DELIVERY="inline",  # the worst case: the request itself sends
        )
        try:
            make_maintainer(app, "maria")
            make_batch(app, count=2)
            client = app.test_client()
            login(client, "maria")
            assert within(20, claim, client).status_code == 303
            assert shown_code(client) is not None
            [receipt] = _receipts(app)
            assert receipt.sent_at is None and receipt.failed_at is None
            assert receipt.attempts == 1 and "timed out" in (receipt.last_error or "")

            # The cron run is bounded too, and keeps the receipt for the next one.
            result = within(20, app.test_cli_runner().invoke, args=["send-mail"])
            assert result.exit_code == 0, result.output
            [receipt] = _receipts(app)
            assert receipt.sent_at is None and receipt.sending_since is None
        finally:
            app.extensions["db.engine"].dispose()


def test_a_hung_breached_password_api_accepts_the_password(tmp_path, sqlite_template, caplog):
    with Silent() as api:
        app = make_sqlite_app(
            tmp_path,
            sqlite_template,
            BREACHED_PASSWORDS_URL=f"http://127.0.0.1:{api.port}/range/",
            BREACHED_PASSWORDS_TIMEOUT=1.0,
        )
        try:
            with caplog.at_level(logging.WARNING):
                response = within(20, AuthActions(app.test_client()).register, "newbie")
            assert response.status_code == 302
            assert "breached-password check unavailable" in caplog.text
        finally:
            app.extensions["db.engine"].dispose()


class Trickle:
    """An HTTP server that answers one byte every `pause` seconds, for ever.

    Each byte comes within any read timeout, so only a deadline for the whole
    answer ends the wait.
    """

    def __init__(self, pause: float = 0.2) -> None:
        self.pause = pause
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
                while not self.stop.wait(self.pause):
                    conn.sendall(b"0")
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def test_a_trickling_breached_password_api_is_cut_off_at_its_deadline(app, caplog):
    server = Trickle()
    try:
        app.config["BREACHED_PASSWORDS_URL"] = f"http://127.0.0.1:{server.port}/range/"
        app.config["BREACHED_PASSWORDS_TIMEOUT"] = 1.0

        def check() -> bool:
            with app.app_context():
                return passwords.is_breached("a password nobody breached")

        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            assert within(10, check) is False
            assert time.monotonic() - started < 10
        assert "breached-password check unavailable" in caplog.text
    finally:
        server.close()
