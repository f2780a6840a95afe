"""The /giveaway page: checklist, claim, the code, the empty pool, CSRF and the rate limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from giveaway import db
from giveaway.claims.models import PromoCode, RestockRequest
from tests.conftest import login, post_form
from tests.factories import make_batch, make_maintainer, make_user


def claim(client, region="FR"):  # type: ignore[no-untyped-def]
    return post_form(client, "/giveaway/claim", {"region": region}, page="/giveaway")


def test_signed_out_visitors_see_how_to_sign_in(client):
    response = client.get("/giveaway")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sign in to check" in html
    assert "/account/login?next=" in html
    assert 'data-check="signed_in"' in html
    assert "Questions and answers" in html


def test_eligible_maintainer_claims_and_sees_the_code(app, client, auth, outbox):
    make_batch(app, codes=["WELCOME-CODE-1"], vendor="KeyVendor")
    make_maintainer(app, "maria")
    auth.login("maria")
    page = client.get("/giveaway").get_data(as_text=True)
    assert "Claim my code" in page
    assert 'name="region"' in page
    assert "France" in page and "Another country" in page
    response = claim(client, "FR")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "WELCOME-CODE-1" in page
    assert 'data-copy-target="promo-code"' in page
    assert "js/copy.js" in page
    assert "/giveaway/setup" in page
    assert "one key in the cart" in page
    assert "Claim my code" not in page
    assert len(outbox.to("maria@example.org")) == 1
    # Asking again shows the same code and takes no other.
    again = claim(client, "FR")
    assert again.status_code == 303
    with app.app_context():
        claimed = db.session().scalars(
            select(PromoCode).where(PromoCode.claimed_by_id.is_not(None))
        )
        assert [c.code for c in claimed] == ["WELCOME-CODE-1"]


def test_code_is_not_shown_to_anyone_else(app, client, auth):
    make_batch(app, codes=["PRIVATE-CODE-9"])
    make_maintainer(app, "maria")
    make_maintainer(app, "otto")
    auth.login("maria")
    claim(client)
    other = app.test_client()
    login(other, "otto")
    assert "PRIVATE-CODE-9" not in other.get("/giveaway").get_data(as_text=True)


def test_not_eligible_region_gets_the_alternatives(app, client, auth):
    make_batch(app, codes=["REGION-1"])
    make_maintainer(app, "maria")
    auth.login("maria")
    response = claim(client, "other")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "cannot ship keys to that country" in html
    assert "authenticator app" in html and "security key" in html
    with app.app_context():
        assert db.session().scalar(select(PromoCode.claimed_by_id)) is None
    # Any ISO code outside the list is answered the same way, not as an error.
    assert "cannot ship keys" in claim(client, "BR").get_data(as_text=True)


def test_bad_region_is_a_form_error(app, client, auth):
    make_batch(app)
    make_maintainer(app, "maria")
    auth.login("maria")
    for value in ("", "XX", "france", "F" * 300):
        response = claim(client, value)
        assert response.status_code == 400
        assert "Choose the country" in response.get_data(as_text=True)


def test_claim_without_csrf_is_refused(app, client, auth):
    make_batch(app)
    make_maintainer(app, "maria")
    auth.login("maria")
    response = client.post("/giveaway/claim", data={"region": "FR"})
    assert response.status_code == 303  # back to the form, with why
    assert response.headers["Location"] == "/giveaway"
    with app.app_context():
        assert db.session().scalar(select(PromoCode.claimed_by_id)) is None


def test_claim_needs_sign_in(client):
    response = client.post("/giveaway/claim", data={"region": "FR"})
    assert response.status_code in (302, 303)


def test_ineligible_user_cannot_claim_by_posting(app, client, auth):
    make_batch(app)
    make_user(app, "nobody")
    auth.login("nobody")
    response = claim(client)
    assert response.status_code == 403
    assert "You maintain a critical project" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(PromoCode.claimed_by_id)) is None


def test_empty_pool_offers_notify_me(app, client, auth):
    make_batch(app, codes=["ONLY-ONE"])
    make_maintainer(app, "first")
    make_maintainer(app, "maria")
    first = app.test_client()
    login(first, "first")
    claim(first)
    auth.login("maria")
    html = client.get("/giveaway").get_data(as_text=True)
    assert "All codes are claimed for now" in html
    assert "Claim my code" not in html
    response = post_form(client, "/giveaway/notify", {}, page="/giveaway")
    assert response.status_code == 303
    assert "We will email maria@example.org" in client.get("/giveaway").get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(RestockRequest.user_id)) is not None
    # A claim attempt on an empty pool is a clear 409, not an error page.
    assert claim(client).status_code == 409


def test_window_before_and_after(app, client, auth):
    make_batch(app)
    make_maintainer(app, "maria")
    auth.login("maria")
    app.config["GIVEAWAY_OPENS_AT"] = "2099-01-01T00:00:00"
    html = client.get("/giveaway").get_data(as_text=True)
    assert "has not started yet" in html and "2099-01-01 00:00 UTC" in html
    assert "Claim my code" not in html
    assert claim(client).status_code == 403
    app.config["GIVEAWAY_OPENS_AT"] = ""
    app.config["GIVEAWAY_CLOSES_AT"] = "2001-01-01"
    html = client.get("/giveaway").get_data(as_text=True)
    assert "The giveaway has ended" in html
    assert "Claim my code" not in html


def test_claimant_still_sees_code_after_the_end(app, client, auth):
    make_batch(app, codes=["KEEP-ME-1"])
    make_maintainer(app, "maria")
    auth.login("maria")
    claim(client)
    app.config["GIVEAWAY_CLOSES_AT"] = "2001-01-01"
    assert "KEEP-ME-1" in client.get("/giveaway").get_data(as_text=True)


def test_expired_claimed_code_says_so(app, client, auth):
    make_batch(app, codes=["OLD-CODE-1"], expires_in=timedelta(days=1))
    make_maintainer(app, "maria")
    auth.login("maria")
    claim(client)
    app.config["CLOCK"] = lambda: datetime.now(UTC) + timedelta(days=2)
    html = client.get("/giveaway").get_data(as_text=True)
    assert "OLD-CODE-1" in html and "This code expired" in html


def test_claim_is_rate_limited(app, client, auth):
    app.config["RATELIMIT_CLAIM"] = "3/minute"
    make_batch(app)
    make_maintainer(app, "maria")
    auth.login("maria")
    statuses = [claim(client, "other").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_faq_covers_the_topics(client):
    html = client.get("/giveaway").get_data(as_text=True)
    for anchor in (
        "faq-critical",
        "faq-how-many-critical",
        "faq-opt-out",
        "faq-who-must",
        "faq-eligible",
        "faq-regions",
        "faq-other-regions",
        "faq-how-many-keys",
        "faq-expiry",
        "faq-why-keys",
        "faq-why-two",
        "faq-code-does-not-apply",
        "faq-out-of-stock",
        "faq-have-keys",
        "faq-other",
    ):
        assert f'id="{anchor}"' in html
    assert "Switzerland" in html and "Japan" in html


def test_no_inline_script_or_style(app, client, auth):
    make_batch(app, codes=["NOINLINE-1"])
    make_maintainer(app, "maria")
    auth.login("maria")
    claim(client)
    html = client.get("/giveaway").get_data(as_text=True)
    # Code only from files; the one data block (the scripts' words) is JSON, never run.
    assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", html)
    assert " style=" not in html


def test_notify_me_is_only_for_those_held_back_by_the_empty_pool(app, client, auth):
    make_user(app, "nobody")
    auth.login("nobody")
    response = post_form(client, "/giveaway/notify", {}, page="/giveaway")
    assert response.status_code == 403
    with app.app_context():
        assert db.session().scalar(select(RestockRequest.id)) is None


def test_a_signed_out_visitor_is_not_told_they_failed_the_sign_in_check(client):
    html = client.get("/giveaway").get_data(as_text=True)
    item = re.search(r'<li class="(\w+)" data-check="signed_in">(.*?)</li>', html, re.S)
    assert item, html
    state, body = item.groups()
    assert state == "pending"
    assert "✗" not in body and "Not met:" not in body
    assert "Not checked yet:" in body
    assert "Sign in to check" in body
    assert "/account/login?next=%2Fgiveaway" in body or "/account/login?next=/giveaway" in body
