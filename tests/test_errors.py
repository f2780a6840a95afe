"""No dead ends: form-only addresses opened as pages, expired forms, and the wait on a 429."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.exceptions import MethodNotAllowed

from giveaway import db
from giveaway.claims.models import PromoCode
from giveaway.errors import FORM_PAGES, form_page, wait_phrase
from tests.conftest import csrf_token, post_form
from tests.factories import make_batch, make_maintainer, make_user

EXPIRED = "Your session expired before the form was sent, so nothing was done."
FORM_ONLY = "That address only receives a form"


def _post_only_rules(app: Flask) -> list:  # type: ignore[type-arg]
    """Every route that answers POST but has no page (GET) at the same address."""
    get_paths = {r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}
    return [
        r
        for r in app.url_map.iter_rules()
        if "POST" in (r.methods or ()) and r.rule not in get_paths
    ]


def _example_path(rule) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"<(?:int:)?(\w+)>", "7", rule.rule)


def _is_another_page(urls, path, rule) -> bool:  # type: ignore[no-untyped-def]
    try:
        page, _ = urls.match(path, "GET", return_rule=True)
    except MethodNotAllowed:
        return False
    return page.rule != rule.rule


def test_every_form_only_address_has_a_page_to_go_back_to(app):
    endpoints = {r.endpoint for r in _post_only_rules(app)}
    assert endpoints, "flask routes lists no form-only address"
    assert endpoints <= set(FORM_PAGES), f"no form page for {sorted(endpoints - set(FORM_PAGES))}"
    # Every page named exists and answers GET.
    for home in FORM_PAGES.values():
        assert any("GET" in (r.methods or ()) for r in app.url_map.iter_rules(home)), home


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_opening_a_form_only_address_leads_to_its_form(app, client, auth, signed_in):
    if signed_in:
        make_user(app, "alice")
        auth.login("alice")
    urls = app.url_map.bind("localhost")
    for rule in _post_only_rules(app):
        path = _example_path(rule)
        if _is_another_page(urls, path, rule):
            continue  # /account/verify/resend reads as /account/verify/<token>: a page
        response = client.get(path)
        assert response.status_code == 303, path
        with app.test_request_context():
            from flask import url_for

            home = FORM_PAGES[rule.endpoint]
            args = {"user_id": 7} if "user_id" in rule.arguments else {}
            assert response.headers["Location"] == url_for(home, **args), path
        with client.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        assert any(FORM_ONLY in text for _, text in flashes), path


def test_the_claim_address_opened_later_shows_the_giveaway_page(client):
    response = client.get("/giveaway/claim", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/giveaway"
    html = response.get_data(as_text=True)
    assert FORM_ONLY in html
    assert "Error 405" not in html


def test_other_methods_and_unknown_addresses_still_refuse(client):
    assert client.put("/giveaway/claim").status_code == 405
    assert client.post("/").status_code == 405
    assert client.get("/giveaway/no-such-thing").status_code == 404


def test_an_expired_claim_form_goes_back_to_the_giveaway_and_claims_nothing(app, client, auth):
    make_batch(app, codes=["KEEP-ME-1"])
    make_maintainer(app, "maria")
    auth.login("maria")
    response = client.post("/giveaway/claim", data={"region": "FR", "csrf_token": "stale"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/giveaway"
    html = client.get("/giveaway").get_data(as_text=True)
    assert EXPIRED in html
    assert "Claim my code" in html
    with app.app_context():
        claimed = db.session().scalar(
            select(func.count()).select_from(PromoCode).where(PromoCode.claimed_by_id.is_not(None))
        )
    assert claimed == 0


def test_an_expired_sign_in_form_keeps_where_the_person_was_going(app, client):
    make_user(app, "alice")
    response = client.post(
        "/account/login",
        data={"username": "alice", "password": "whatever", "next": "/giveaway"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/login?next=%2Fgiveaway"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert EXPIRED in html
    assert 'name="next" value="/giveaway"' in html


def test_an_expired_form_with_a_query_keeps_it(app, client, auth):
    make_user(app, "alice")
    auth.login("alice")
    response = client.post("/account/security/recovery-codes?next=/giveaway/setup")
    assert response.status_code == 303
    assert (
        response.headers["Location"] == "/account/security/recovery-codes?next=%2Fgiveaway%2Fsetup"
    )


def test_an_expired_token_on_a_key_ceremony_fetch_answers_json(app, client, auth):
    make_user(app, "alice")
    auth.login("alice")
    response = client.post(
        "/account/security/webauthn/options",
        json={},
        headers={"X-CSRFToken": "stale", "Accept": "application/json"},
    )
    assert response.status_code == 400
    body = response.get_json()
    assert "session expired" in body["error"]
    assert body["redirect"] == "/account/security"


def test_an_expired_form_whose_address_reads_as_another_page_goes_to_its_own(app, client, auth):
    make_user(app, "alice")
    auth.login("alice")
    response = client.post("/account/verify/resend")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/"


def test_a_post_outside_the_portal_keeps_the_plain_page(app):
    with app.test_request_context("/nowhere", method="POST"):
        assert form_page("POST") is None


# --- too many attempts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (61, "61 seconds"),
        (150, "about 3 minutes"),
        (3600, "about 60 minutes"),
        (9000, "about 3 hours"),
    ],
)
def test_waits_are_said_in_words(seconds, words):
    assert wait_phrase(seconds) == words


def test_the_rate_limit_page_says_how_long_to_wait(app, client, auth):
    app.config["RATELIMIT_LOGIN"] = "2/minute"
    make_user(app, "alice")
    for _ in range(2):
        auth.login("alice", "wrong-password-x")
    response = auth.login("alice")
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= 60
    html = response.get_data(as_text=True)
    said = re.search(r"Please wait (\d+) seconds? and try again", html)
    assert said, html
    assert abs(int(said.group(1)) - wait) <= 1


def test_a_rate_limited_key_fetch_says_the_wait_in_json(app, client, auth):
    app.config["RATELIMIT_TWOFACTOR_OPTIONS"] = "1/minute"
    make_user(app, "alice")
    auth.login("alice")
    token = csrf_token(client, "/account/security")
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    client.post("/account/security/webauthn/options", json={}, headers=headers)
    response = client.post("/account/security/webauthn/options", json={}, headers=headers)
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    assert re.search(r"Please wait \d+ seconds? and try again", response.get_json()["error"])


def test_a_good_form_still_goes_through(app, client):
    make_user(app, "alice")
    response = post_form(
        client, "/account/login", {"username": "alice", "password": "nope-nope-nope"}
    )
    assert response.status_code == 401


def test_a_too_large_request_says_the_limit_and_what_to_do(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 2_000_000
    response = client.post("/account/login", data={"x": "y" * 2_100_000})
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "at most 2 MB at once" in html
    assert "Send a smaller file, or split it into parts" in html


def test_a_refusal_says_what_to_do_next(app, client, auth):
    make_user(app, "alice")
    auth.login("alice")
    html = client.get("/admin/").get_data(as_text=True)
    assert "sign in with the account that has it" in html
