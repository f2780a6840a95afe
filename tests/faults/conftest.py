"""Helpers for the fault tests: cutting PostgreSQL connections, a TCP proxy to pull out."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time

import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.conftest import PG_ADMIN_URL, post_form


def terminate_backend(pid: int) -> None:
    """Kill one PostgreSQL backend from another connection, as an operator or a crash would."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    admin.dispose()


def claim(client: FlaskClient, region: str = "US"):  # type: ignore[no-untyped-def]
    return post_form(client, "/giveaway/claim", {"region": region}, page="/giveaway")


def shown_code(client: FlaskClient) -> str | None:
    html = client.get("/giveaway").get_data(as_text=True)
    m = re.search(r'id="promo-code"[^>]*>([^<]+)<', html)
    return m.group(1).strip() if m else None


class Proxy:
    """A TCP proxy on localhost in front of a server; `down()` cuts every connection
    and refuses new ones, `up()` lets them through again (same port)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self.lock:
            if self.listener is not None:
                # shutdown() wakes the thread blocked in accept(); close() alone would not.
                with contextlib.suppress(OSError):
                    self.listener.shutdown(socket.SHUT_RDWR)
                self.listener.close()
                self.listener = None
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                for s in (source, sink):
                    if s in self.sockets:
                        self.sockets.remove(s)
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()


class Silent:
    """A hung server: listens on a random localhost port, accepts, never answers.

    What a Redis, SMTP server or HTTP API looks like when its process is stopped
    (SIGSTOP) or wedged: the connection succeeds, the reply never comes.
    """

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)  # kept open, never read, never answered

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for conn in self.accepted:
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def within(seconds: float, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run fn on a thread and return its result; fail if it takes longer than `seconds`.

    A hung dependency must cost seconds: the test ends at the bound either way
    instead of hanging with the code under test.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), f"still waiting after {elapsed:.1f} s (bound: {seconds} s)"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]
