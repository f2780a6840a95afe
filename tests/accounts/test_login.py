"""Sign-in and sign-out: answers, events, session renewal, safe `next`."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import page_text, without_tokens
from tests.conftest import login, post_form
from tests.factories import TEST_PASSWORD, events_of, make_user


def test_sign_in_records_the_event_and_shows_the_account(app, client, auth):
    make_user(app, "alice")
    response = auth.login("alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    assert "Signed in as alice" in page_text(client.get("/account/"))
    [event] = events_of(app, "login:success")
    assert event.detail == {"method": "password"}
    assert event.ip_address == "127.0.0.1"


def test_username_is_matched_regardless_of_case(app, client, auth):
    make_user(app, "Alice")
    assert auth.login("aLICE").status_code == 302


def test_wrong_username_and_wrong_password_get_the_same_answer(any_app):
    make_user(any_app, "alice")
    answers = []
    for username, password in (("nobody", TEST_PASSWORD), ("alice", "wrong-password-here")):
        client = any_app.test_client()
        response = login(client, username, password)
        html = without_tokens(page_text(response)).replace(f'value="{username}"', 'value="X"')
        answers.append((response.status_code, html))
        assert "The username or password is not correct." in html
        assert client.get("/account/").status_code == 302  # still signed out
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    failures = events_of(any_app, "login:failure")
    assert sorted(e.detail["reason"] for e in failures) == ["unknown user", "wrong password"]
    assert [e.user_id is None for e in failures].count(True) == 1
    for event in failures:  # the attempted password is never recorded
        assert "wrong-password-here" not in str(event.detail)


def test_account_without_password_cannot_sign_in(app, client, auth):
    make_user(app, "imported", password=None, email_verified_at=None)
    response = auth.login("imported", "")
    assert response.status_code == 400
    response = auth.login("imported", TEST_PASSWORD)
    assert response.status_code == 401
    assert "The username or password is not correct." in page_text(response)


def test_empty_fields_get_messages(client):
    response = post_form(client, "/account/login", {"username": "", "password": ""})
    assert response.status_code == 400
    assert "Enter your username." in page_text(response)
    assert "Enter your password." in page_text(response)


def test_session_is_renewed_at_sign_in(app, client, auth):
    make_user(app, "alice")
    client.get("/account/login")
    with client.session_transaction() as session:
        session["planted"] = "by-someone-else"
    before = client.get_cookie("session").value
    auth.login("alice")
    after = client.get_cookie("session").value
    assert before != after
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(("1:", "2:"))


def test_sign_out_needs_post_with_csrf_and_ends_the_session(app, client, auth):
    make_user(app, "alice")
    auth.login("alice")
    # Opened as a page it leads home; without a CSRF token it is refused: still signed in.
    assert client.get("/account/logout").headers["Location"] == "/"
    assert client.post("/account/logout").status_code == 303  # no CSRF token
    assert client.get("/account/").status_code == 200
    response = post_form(client, "/account/logout", {}, page="/account/")
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_login_required_pages_send_to_sign_in_and_back(app, client):
    make_user(app, "alice")
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")
    response = post_form(
        client,
        "/account/login?next=/account/",
        {"username": "alice", "password": TEST_PASSWORD},
        page="/account/login?next=/account/",
    )
    assert response.headers["Location"] == "/account/"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/account/",
        "https://evil.example",
        "http://evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " //evil.example",
        "/\t/evil.example",
        "evil.example",
        "https:evil.example",
    ],
)
def test_off_site_next_is_ignored(app, client, target):
    make_user(app, "alice")
    page = client.get("/account/login", query_string={"next": target})
    assert "evil.example" not in page_text(page)
    response = post_form(
        client,
        "/account/login",
        {"username": "alice", "password": TEST_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


def test_off_site_next_in_the_query_string_is_ignored(app, client):
    make_user(app, "alice")
    response = client.post(
        "/account/login?next=https://evil.example",
        data={
            "csrf_token": __import__("tests.accounts.conftest").accounts.conftest.csrf_from(
                page_text(client.get("/account/login"))
            ),
            "username": "alice",
            "password": TEST_PASSWORD,
        },
    )
    assert response.headers["Location"] == "/account/"


@pytest.mark.parametrize("target", ["/", "/account/?tab=1", "/giveaway"])
def test_next_on_this_site_is_followed(app, client, target):
    make_user(app, "alice")
    response = post_form(
        client, "/account/login", {"username": "alice", "password": TEST_PASSWORD, "next": target}
    )
    assert response.headers["Location"] == target


def test_signed_in_visitor_at_login_goes_to_next(app, client, auth):
    make_user(app, "alice")
    auth.login("alice")
    response = client.get("/account/login?next=//evil.example")
    assert response.headers["Location"] == "/account/"


def test_old_session_ends_when_the_password_changes_elsewhere(app):
    from giveaway import db
    from giveaway.accounts.models import User

    user = make_user(app, "alice")
    client = app.test_client()
    login(client, "alice")
    assert client.get("/account/").status_code == 200
    with app.app_context():
        db.session().get(User, user.id).session_version += 1
        db.session().commit()
    assert client.get("/account/").status_code == 302
