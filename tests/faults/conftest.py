"""Helpers for the fault tests: cutting PostgreSQL connections, a TCP proxy to pull out."""

from __future__ import annotations

import contextlib
import re
import socket
import threading

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
