"""import-downloads from a URL or file costs a bounded wait, whatever the other end does.

Issue 12, defect 1: the download's timeouts were per read only, so a server
that sends a byte now and then kept the import waiting for ever. Local socket
servers on 127.0.0.1 (random ports) play the bad servers; each stops by itself
within seconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses
from flask import Flask

from giveaway.critical import readers, sources
from tests.critical.conftest import run
from tests.critical.test_import import table_sizes

# No server here lives longer than this: a test of unbounded waiting ends anyway.
SERVER_LIFETIME = 12.0


def _serve(behaviour: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def accept() -> None:
        ends = time.monotonic() + SERVER_LIFETIME
        while not stop.is_set() and time.monotonic() < ends:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            connections.append(conn)
            threading.Thread(target=behaviour, args=(conn, stop), daemon=True).start()
        stop.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/downloads.json"
    finally:
        stop.set()
        thread.join(5)
        for conn in connections:
            conn.close()
        listener.close()


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read the request, never answer."""
    conn.recv(65536)
    stop.wait(SERVER_LIFETIME)


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Answer the headers, then one byte of the body every 50 ms (no read ever times out)."""
    conn.recv(65536)
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n{")
        while not stop.wait(0.05):
            conn.sendall(b" ")
    except OSError:
        pass


def _trickled_headers(conn: socket.socket, stop: threading.Event) -> None:
    """Send the status line and headers one byte every 50 ms, never finishing them."""
    conn.recv(65536)
    try:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
            if stop.wait(0.05):
                return
            conn.sendall(bytes([byte]))
    except OSError:
        pass


@pytest.fixture
def silent_server() -> Iterator[str]:
    yield from _serve(_silent)


@pytest.fixture
def trickle_server() -> Iterator[str]:
    yield from _serve(_trickle)


@pytest.fixture
def slow_headers_server() -> Iterator[str]:
    yield from _serve(_trickled_headers)


def timed_import(app: Flask, url: str, *options: str):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = run(app, "import-downloads", url, "--period", "2026-03", *options)
    return result, time.monotonic() - started


def test_a_server_that_never_answers_costs_the_read_timeout(app: Flask, silent_server: str) -> None:
    app.config["DOWNLOADS_URL_TIMEOUT"] = 0.5
    result, seconds = timed_import(app, silent_server)
    assert result.exit_code == 1
    assert f"{silent_server}: timed out after 0.5s" in result.output
    assert seconds < 5
    assert table_sizes(app) == (0, 0, 0, 0)


def test_a_trickling_server_is_given_up_on_at_the_deadline(app: Flask, trickle_server: str) -> None:
    app.config["DOWNLOADS_URL_TIMEOUT"] = 0.2
    # Default deadline: 20 x the read timeout, here 4 s. Before the fix this
    # waited until the server itself gave up (SERVER_LIFETIME).
    result, seconds = timed_import(app, trickle_server)
    assert result.exit_code == 1, result.output
    assert "no complete answer within 4s, nothing imported" in result.output
    assert seconds < 8
    assert table_sizes(app) == (0, 0, 0, 0)


def test_the_deadline_can_be_given(app: Flask, trickle_server: str) -> None:
    result, seconds = timed_import(app, trickle_server, "--deadline", "1.5")
    assert result.exit_code == 1, result.output
    assert "no complete answer within 1.5s" in result.output
    assert seconds < 5


def test_headers_that_never_end_are_bounded_too(app: Flask, slow_headers_server: str) -> None:
    result, seconds = timed_import(app, slow_headers_server, "--deadline", "1")
    assert result.exit_code == 1, result.output
    assert "no complete answer within 1s" in result.output
    assert seconds < 5


def test_a_bad_deadline_is_refused(app: Flask) -> None:
    result = run(app, "import-downloads", "x.csv", "--period", "2026-03", "--deadline", "0")
    assert result.exit_code == 2 and "--deadline" in result.output


def test_an_oversized_download_is_refused(
    app: Flask, no_network: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_DOWNLOAD_BYTES", 1000)
    url = "https://stats.example/huge.csv"
    no_network.add(responses.GET, url, body="a,1\n" * 1000)
    result = run(app, "import-downloads", url, "--period", "2026-03")
    assert result.exit_code == 1
    assert "larger than 1,000 bytes, nothing imported" in result.output
    assert table_sizes(app) == (0, 0, 0, 0)


def test_only_regular_files_are_read(app: Flask) -> None:
    result = run(app, "import-downloads", "/dev/zero", "--period", "2026-03")
    assert result.exit_code == 1
    assert "cannot read /dev/zero: not a regular file" in result.output


def test_a_file_without_line_breaks_is_refused_early(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_CHARS", 5000)
    monkeypatch.setattr(readers, "BLOCK_CHARS", 1000)
    path = tmp_path / "one-line.csv"
    path.write_text("a,1\nb,2\n" + "x" * 20_000)
    result = run(app, "import-downloads", str(path), "--period", "2026-03")
    assert result.exit_code == 1
    assert "line 3 is longer than 5,000 characters" in result.output
    assert table_sizes(app) == (0, 0, 0, 0)
