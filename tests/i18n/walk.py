"""Every page a maintainer or a visitor reads, in the states they meet it.

`maintainer_pages(app, client)` walks the portal as people do (test client,
the locale chosen with the language cookie) and returns (label, html) for
each page seen: anonymous pages and forms with their errors, the account and
security pages of someone who cannot claim, a maintainer before and after
codes arrive, the claim refused and done, keys registered, the second step of
a sign-in, recovery codes, an expired code and the error pages. The tests in
this folder read the same walk in the pseudo-locale (nothing unmarked) and in
each shipped language (no English left).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from giveaway import i18n
from tests.conftest import TEST_PASSWORD, AuthActions, post_form
from tests.factories import (
    add_key,
    add_recovery_codes,
    clock_now,
    enable_totp,
    give_code,
    make_batch,
    make_maintainer,
    make_user,
)

Pages = list[tuple[str, str]]
# What the walk's people and things are called (data, never translated).
DATA = (
    "Security Key Giveaway",
    "PyPI",
    "KeyVendor",
    "https://keys.example.com/redeem",
    "USB key",
    "Spare key",
    "plain",
    "maria",
    "tomas",
    "otto",
    "@example.org",
    "I18N-CODE-0001",
    "I18N-OLD-0001",
    "UTC",
    # The language menu names each language in its own words.
    "English",
    "Deutsch",
    "Français",
    "Italiano",
    "日本語",
    "Español",
    "Nederlands",
)


def _get(client: FlaskClient, pages: Pages, path: str, label: str | None = None) -> str:
    response = client.get(path, follow_redirects=True)
    assert response.status_code < 500, (path, response.status_code)
    html = response.get_data(as_text=True)
    pages.append((label or f"GET {path}", html))
    return html


def _post(
    client: FlaskClient, pages: Pages, path: str, data: dict[str, str], *, page: str, label: str
) -> str:
    response = post_form(client, path, data, page=page, follow_redirects=True)
    assert response.status_code < 500, (path, response.status_code)
    html = response.get_data(as_text=True)
    pages.append((label, html))
    return html


def maintainer_pages(app: Flask, client: FlaskClient, locale: str) -> Pages:
    client.set_cookie(i18n.COOKIE, locale)
    auth = AuthActions(client)
    pages: Pages = []
    # A visitor.
    for path in (
        "/",
        "/account/login",
        "/account/register",
        "/account/reset",
        "/account/reset/not-a-token",
        "/account/activate/not-a-token",
        "/account/verify/not-a-token",
        "/giveaway",
        "/giveaway/setup",
        "/no-such-page",
    ):
        _get(client, pages, path)
    _post(client, pages, "/account/register", {}, page="/account/register", label="register: empty")
    _post(
        client,
        pages,
        "/account/register",
        {"username": "x", "email": "nope", "password": "short", "password_confirm": "other"},
        page="/account/register",
        label="register: every field wrong",
    )
    _post(
        client,
        pages,
        "/account/login",
        {"username": "nobody", "password": "wrong-password-here"},
        page="/account/login",
        label="sign-in refused",
    )
    _post(
        client,
        pages,
        "/account/reset",
        {"identifier": "nobody@example.org"},
        page="/account/reset",
        label="reset asked",
    )

    # Someone who cannot claim (no critical project).
    make_user(app, "plain")
    auth.login("plain")
    for path in (
        "/account/",
        "/account/security",
        "/account/security/totp",
        "/account/security/recovery-codes",
        "/account/history",
        "/account/delete",
        "/giveaway",
        "/giveaway/setup",
        "/admin/",  # refused: the 403 page
    ):
        _get(client, pages, path)
    _post(
        client,
        pages,
        "/account/security/totp",
        {"code": "000000"},
        page="/account/security/totp",
        label="TOTP: wrong code, box not ticked",
    )
    _post(
        client,
        pages,
        "/account/password",
        {"current_password": "wrong", "new_password": "x", "new_password_confirm": "y"},
        page="/account/",
        label="password change refused",
    )
    auth.logout()

    # A maintainer: before codes arrive, asking to be told.
    maria = make_maintainer(app, "maria")
    auth.login("maria")
    for path in ("/giveaway", "/giveaway/setup", "/account/"):
        _get(client, pages, path, f"pool empty: GET {path}")
    _post(client, pages, "/giveaway/notify", {}, page="/giveaway", label="pool empty: notify me")
    # Codes arrive: the form, its refusals, the claim.
    make_batch(app, codes=["I18N-CODE-0001"], store_url="https://keys.example.com/redeem")
    _get(client, pages, "/giveaway", "codes: the claim form")
    _post(client, pages, "/giveaway/claim", {}, page="/giveaway", label="claim: no region")
    _post(
        client,
        pages,
        "/giveaway/claim",
        {"region": "other"},
        page="/giveaway",
        label="claim: a country keys are not shipped to",
    )
    _post(
        client,
        pages,
        "/giveaway/claim",
        {"region": "DE"},
        page="/giveaway",
        label="claim: done",
    )
    for path in ("/giveaway", "/giveaway/setup", "/account/", "/account/history"):
        _get(client, pages, path, f"claimed: GET {path}")
    # Keys registered.
    add_key(app, maria, "USB key")
    add_key(app, maria, "Spare key")
    for path in ("/account/", "/account/security", "/giveaway/setup"):
        _get(client, pages, path, f"two keys: GET {path}")
    add_recovery_codes(app, maria, confirmed=False)
    _get(client, pages, "/account/security", "recovery codes not saved: security")
    _get(client, pages, "/account/security/recovery-codes/confirm")
    auth.logout()

    # The second step of a sign-in, and a wrong code there.
    tomas = make_user(app, "tomas")
    enable_totp(app, tomas)
    response = auth.login("tomas")
    assert response.status_code == 302
    _get(client, pages, "/account/login/2fa")
    _post(
        client,
        pages,
        "/account/login/2fa/totp",
        {"code": "000000"},
        page="/account/login/2fa",
        label="2FA: wrong code",
    )
    _post(
        client,
        pages,
        "/account/login/2fa/recovery",
        {"code": "not-a-code"},
        page="/account/login/2fa",
        label="2FA: wrong recovery code",
    )
    client.delete_cookie("session")

    # A maintainer whose code expired unredeemed.
    otto = make_maintainer(app, "otto")
    now = clock_now(app)
    make_batch(app, codes=["I18N-OLD-0001"], expires_at=now + timedelta(days=1))
    give_code(app, otto, "I18N-OLD-0001", when=now)
    from tests.factories import set_clock

    set_clock(app, now + timedelta(days=3))
    auth.login("otto", TEST_PASSWORD)
    _get(client, pages, "/giveaway", "expired code: GET /giveaway")
    _get(client, pages, "/account/", "expired code: GET /account/")
    return pages
