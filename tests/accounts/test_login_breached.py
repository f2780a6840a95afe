"""The breached-password check at sign-in (as Warehouse does it).

A correct password that appears in a breach is turned off and a link to choose
a new one is emailed; the person is not signed in until they have used it, and
the second factor still follows. A slow or broken breach service costs a bounded
wait and the sign-in goes on; switched off, it is not asked at all.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import responses

from giveaway.accounts import breached
from tests.accounts.conftest import NEW_PASSWORD, get_user, link_path, page_text
from tests.conftest import login, outbox_for, post_form
from tests.factories import TEST_PASSWORD, enable_totp, events_of, make_user

RANGE_URL = "https://breached.test/range/"
# The pattern the no_network fixture answers "not breached" for (re caches: the same object).
RANGE_PATTERN = re.compile(r"https://breached\.test/range/[0-9A-F]{5}")


def _digest(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


def _breached(no_network: responses.RequestsMock, password: str = TEST_PASSWORD) -> None:
    digest = _digest(password)
    no_network.replace(
        responses.GET,
        RANGE_PATTERN,
        body=f"0123456789ABCDEF0123456789ABCDEF012:3\r\n{digest[5:]}:1234\r\n",
    )


def _range_calls(no_network: responses.RequestsMock) -> list[str]:
    return [c.request.url for c in no_network.calls if c.request.url.startswith(RANGE_URL)]


def test_breached_password_is_turned_off_and_a_link_is_emailed(any_app, no_network):
    make_user(any_app, "alice")
    _breached(no_network)
    client = any_app.test_client()
    response = login(client, "alice")
    assert response.status_code == 403
    html = page_text(response)
    assert "appears in a data breach" in html
    assert "We have emailed you a link to choose a new password" in html
    assert "Send me a new link" in html
    assert client.get("/account/").status_code == 302  # not signed in
    # Only the first five hex digits of the SHA-1 went out.
    assert _range_calls(no_network) == [RANGE_URL + _digest(TEST_PASSWORD)[:5]]
    [event] = events_of(any_app, "password:breached")
    assert event.detail == {"found_at": "sign-in"}
    assert events_of(any_app, "login:success") == []
    outbox = outbox_for(any_app)
    [message] = outbox.to("alice@example.org")
    assert "data breach" in message["Subject"]
    assert "this portal was not breached" in outbox.text(message)
    # The password no longer signs in; trying it again says why.
    again = login(any_app.test_client(), "alice")
    assert again.status_code == 403
    assert "we turned it off" in page_text(again)
    assert "not correct" not in page_text(again)
    # A wrong password still gets the usual answer.
    wrong = login(any_app.test_client(), "alice", "not-the-password-at-all")
    assert wrong.status_code == 401 and "not correct" in page_text(wrong)

    # The emailed link leads to a new password, then the person is signed in.
    path = link_path(outbox, "alice@example.org", "reset")
    done = post_form(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/account/"
    assert client.get("/account/").status_code == 200
    fresh = any_app.test_client()
    assert login(fresh, "alice", NEW_PASSWORD).status_code == 302
    assert not (get_user(any_app, "alice").password_hash or "").startswith(breached.TURNED_OFF)


def test_other_sessions_end_when_the_password_is_turned_off(app, auth, no_network):
    make_user(app, "alice")
    auth.login("alice")
    assert auth.client.get("/account/").status_code == 200
    _breached(no_network)
    assert login(app.test_client(), "alice").status_code == 403
    assert auth.client.get("/account/").status_code == 302


def test_the_second_factor_still_follows_the_new_password(app, client, no_network, outbox):
    user = make_user(app, "alice")
    enable_totp(app, user)
    _breached(no_network)
    assert login(client, "alice").status_code == 403
    path = link_path(outbox, "alice@example.org", "reset")
    done = post_form(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/login/2fa")
    assert client.get("/account/").status_code == 302  # not signed in before the code


def test_a_password_not_in_a_breach_signs_in_as_usual(app, auth, no_network):
    make_user(app, "alice")
    response = auth.login("alice")
    assert response.status_code == 302
    assert len(_range_calls(no_network)) == 1
    assert events_of(app, "password:breached") == []


@pytest.mark.parametrize(
    "failure",
    [requests.Timeout("read timed out"), requests.ConnectionError("refused")],
    ids=["timeout", "connection-error"],
)
def test_a_broken_breach_service_signs_in_as_usual_with_a_warning(
    app, auth, no_network, caplog, failure
):
    make_user(app, "alice")
    no_network.replace(responses.GET, RANGE_PATTERN, body=failure)
    with caplog.at_level(logging.WARNING, logger="giveaway.accounts.passwords"):
        assert auth.login("alice").status_code == 302
    assert "breached-password check unavailable" in caplog.text
    assert events_of(app, "password:breached") == []


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """An address that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/range/"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def test_a_hung_breach_service_costs_a_bounded_wait(app, auth, caplog, hanging_server):
    app.config.update(BREACHED_PASSWORDS_URL=hanging_server, BREACHED_PASSWORDS_TIMEOUT=0.5)
    make_user(app, "alice")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="giveaway.accounts.passwords"):
        response = auth.login("alice")
    assert response.status_code == 302
    assert time.monotonic() - started < 0.5 + 3  # the wait, plus one password hash or two
    assert "breached-password check unavailable" in caplog.text


def test_switched_off_the_service_is_not_asked(app, auth, no_network):
    app.config["BREACHED_PASSWORDS_URL"] = ""
    make_user(app, "alice")
    _breached(no_network)
    assert auth.login("alice").status_code == 302
    assert _range_calls(no_network) == []
