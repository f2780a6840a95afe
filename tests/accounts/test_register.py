"""Registration: every rule, its message, and the verification email."""

from __future__ import annotations

import hashlib
import logging

import pytest
import requests
import responses
import sqlalchemy as sa

from giveaway import db
from giveaway.accounts import service
from giveaway.accounts.models import User
from tests.accounts.conftest import get_user, link_path, page_text
from tests.conftest import AuthActions, Outbox, outbox_for
from tests.factories import TEST_PASSWORD, events_of, make_user

RANGE_URL = "https://range.test/range/"


def test_register_page_has_labelled_fields(client):
    html = page_text(client.get("/account/register"))
    for name in ("username", "email", "password", "password_confirm"):
        assert f'<label for="{name}">' in html
        assert f'name="{name}"' in html
    assert 'name="csrf_token"' in html
    assert "None" not in html  # no attribute rendered from a missing value


def test_register_creates_account_signs_in_and_mails_link(app, client, auth, outbox: Outbox):
    response = auth.register("newbie", "Newbie@Example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    html = page_text(client.get("/account/"))
    assert "newbie" in html
    assert "Not verified" in html
    user = get_user(app, "newbie")
    assert user.email == "Newbie@example.org"  # the domain is normalised
    assert user.password_hash.startswith("$argon2id$")
    assert user.email_verified_at is None
    [message] = outbox.to("newbie@example.org")
    assert "Verify" in message["Subject"]
    assert message.get_body(preferencelist=("html",)) is not None
    assert link_path(outbox, "newbie@example.org", "verify")
    assert len(events_of(app, "account:created")) == 1


@pytest.mark.parametrize(
    ("taken", "wanted", "field"),
    [
        (("Alice", "alice@example.org"), ("alice", "other@example.org"), "username"),
        (("alice", "alice@example.org"), ("ALICE", "other@example.org"), "username"),
        (("alice", "Alice@Example.org"), ("bob", "aLiCe@example.ORG"), "email"),
    ],
)
def test_duplicates_differing_only_in_case_are_refused(any_app, taken, wanted, field):
    make_user(any_app, taken[0], email=taken[1])
    response = AuthActions(any_app.test_client()).register(wanted[0], wanted[1])
    assert response.status_code == 400
    html = page_text(response)
    if field == "username":
        assert "This username is taken" in html
    else:
        assert "An account already uses this email address" in html
    with any_app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert len(outbox_for(any_app)) == 0


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            {"username": "Carol", "email": "c1@example.org"},
            {"username": "carol", "email": "c2@example.org"},
        ),
        (
            {"username": "carol", "email": "Carol@Example.org"},
            {"username": "dave", "email": "carol@example.org"},
        ),
    ],
)
def test_database_unique_indexes_ignore_case(any_app, first, second):
    """The indexes hold even for writes that skip the service's checks."""
    with any_app.app_context():
        session = db.session()
        session.add(User(**first))
        session.commit()
        session.add(User(**second))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
        session.rollback()


def test_registration_race_lost_at_the_index_gives_the_same_message(any_app, monkeypatch):
    """Two sign-ups for one name pass the checks at once: the index decides, cleanly."""
    make_user(any_app, "erin")
    monkeypatch.setattr(service, "check_username", lambda session, username, problems: None)
    with any_app.test_request_context():
        with pytest.raises(service.Problems) as caught:
            service.register(db.session(), "Erin", "erin2@example.org", TEST_PASSWORD)
        assert caught.value.fields == {
            "username": ["This username is taken. Please choose another one."]
        }
        db.session().commit()  # the session is usable after the failure
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email"}, "This email address is not valid"),
        ({"email": "someone@"}, "This email address is not valid"),
        ({"email": ""}, "Enter your email address."),
        ({"username": ""}, "Choose a username."),
        ({"username": "bad name"}, "Use 1 to 50 letters"),
        ({"username": "-dash"}, "Use 1 to 50 letters"),
        ({"username": "a" * 51}, "Use at most 50 characters."),
        ({"password": "short", "password_confirm": "short"}, "Use at least 10 characters."),
        ({"password": "", "password_confirm": ""}, "Choose a password."),
        ({"password_confirm": "something-else-entirely"}, "The two passwords do not match."),
        (
            {
                "username": "longusername1",
                "password": "LongUsername1",
                "password_confirm": "LongUsername1",
            },
            "Your password cannot be your username.",
        ),
        (
            {
                "email": "x1234567@ex.org",
                "password": "X1234567@ex.org",
                "password_confirm": "X1234567@ex.org",
            },
            "Your password cannot be your email address.",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_400(app, auth, data, message):
    form = {
        "username": "frank",
        "email": "frank@example.org",
        "password": TEST_PASSWORD,
        "password_confirm": TEST_PASSWORD,
    } | data
    response = auth.register(
        form["username"], form["email"], form["password"], form["password_confirm"]
    )
    assert response.status_code == 400
    assert message in page_text(response)
    assert 'aria-invalid="true"' in page_text(response)
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 0


def _sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


def test_breached_password_is_refused_and_only_the_prefix_goes_out(app, client, auth, no_network):
    app.config["BREACHED_PASSWORDS_URL"] = RANGE_URL
    password = "correct-horse-battery"
    digest = _sha1(password)
    no_network.add(
        responses.GET,
        RANGE_URL + digest[:5],
        body=f"0123456789ABCDEF0123456789ABCDEF012:3\r\n{digest[5:]}:42\r\n",
    )
    response = auth.register("grace", password=password)
    assert response.status_code == 400
    assert "appeared in a data breach" in page_text(response)
    [call] = [c for c in no_network.calls if c.request.url.startswith(RANGE_URL)]
    assert call.request.url == RANGE_URL + digest[:5]
    assert digest[5:] not in call.request.url
    assert password not in (call.request.url + str(call.request.headers))
    assert call.request.body is None
    assert get_user(app, "grace") is None


def test_password_with_a_padding_entry_of_zero_is_accepted(app, client, auth, no_network):
    """The API pads answers with count-0 lines: those are not breaches."""
    app.config["BREACHED_PASSWORDS_URL"] = RANGE_URL
    password = "a-padded-passphrase"
    digest = _sha1(password)
    no_network.add(responses.GET, RANGE_URL + digest[:5], body=f"{digest[5:]}:0\r\n")
    assert auth.register("heidi", password=password).status_code == 302


@pytest.mark.parametrize(
    "failure",
    [requests.Timeout("read timed out"), requests.ConnectionError("refused")],
    ids=["timeout", "connection-error"],
)
def test_breach_service_down_fails_open_with_a_warning(
    app, client, auth, no_network, caplog, failure
):
    app.config["BREACHED_PASSWORDS_URL"] = RANGE_URL
    no_network.add(responses.GET, __import__("re").compile(RANGE_URL + ".*"), body=failure)
    with caplog.at_level(logging.WARNING, logger="giveaway.accounts.passwords"):
        response = auth.register("ivan")
    assert response.status_code == 302
    assert get_user(app, "ivan") is not None
    assert any(
        r.levelno == logging.WARNING and "breached-password check unavailable" in r.getMessage()
        for r in caplog.records
    )


def test_breach_service_error_status_fails_open(app, client, auth, no_network, caplog):
    app.config["BREACHED_PASSWORDS_URL"] = RANGE_URL
    no_network.add(responses.GET, __import__("re").compile(RANGE_URL + ".*"), status=503)
    with caplog.at_level(logging.WARNING):
        assert auth.register("judy").status_code == 302
    assert "breached-password check unavailable" in caplog.text


def test_breach_check_uses_a_short_timeout(app, client, auth, no_network, monkeypatch):
    seen = {}
    real_get = requests.get

    def spy(url, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs)
        return real_get(url, **kwargs)

    monkeypatch.setattr(requests, "get", spy)
    auth.register("ken")
    assert 0 < seen["timeout"] <= 5


def test_signed_in_visitor_is_sent_to_the_account_page(app, client, auth):
    auth.register("leo")
    response = client.get("/account/register")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


def test_every_broken_rule_is_reported_at_once(app, client, auth, no_network):
    make_user(app, "taken")
    response = auth.register("Taken", "bad", "short", "other")
    assert response.status_code == 400
    html = page_text(response)
    assert "This username is taken" in html
    assert "This email address is not valid" in html
    assert "Use at least 10 characters." in html
    assert "The two passwords do not match." in html
    assert not [c for c in no_network.calls if "range" in c.request.url]  # no breach lookup
