"""Fixtures for the two-factor tests: an app whose relying party is http://localhost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, csrf_token, make_sqlite_app
from tests.factories import make_user
from tests.twofactor.authenticator import SoftwareAuthenticator

ORIGIN = "http://localhost"


@pytest.fixture
def app(tmp_path: Path, sqlite_template: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    overrides = {
        "WEBAUTHN_RP_ID": "localhost",
        "WEBAUTHN_ORIGIN": ORIGIN,
        "RATELIMIT_TWOFACTOR": "1000/minute",
        "RATELIMIT_LOGIN": "1000/minute",
    }
    marker = request.node.get_closest_marker("config")
    if marker:
        overrides.update(marker.kwargs)
    application = make_sqlite_app(tmp_path, sqlite_template, **overrides)
    yield application
    application.extensions["db.engine"].dispose()


@pytest.fixture
def authenticator() -> SoftwareAuthenticator:
    return SoftwareAuthenticator(origin=ORIGIN)


class Flow:
    """Steps through the 2FA pages with the Flask test client."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def token(self, page: str) -> str:
        return csrf_token(self.client, page)

    def post_json(self, path: str, body: dict, page: str):  # type: ignore[no-untyped-def]
        return self.client.post(path, json=body, headers={"X-CSRFToken": self.token(page)})

    # --- registration
    def register_options(self):  # type: ignore[no-untyped-def]
        return self.post_json("/account/security/webauthn/options", {}, "/account/security")

    def register_answer(self, label: str, credential: dict, *, give_up_keys: bool = False):  # type: ignore[no-untyped-def]
        """Send the key; `give_up_keys` ticks "I give up the free keys" (when they are at stake)."""
        body = {"label": label, "credential": credential}
        if give_up_keys:
            body["give_up_keys"] = True
        return self.post_json("/account/security/webauthn/register", body, "/account/security")

    def register_key(
        self, auth: SoftwareAuthenticator, label: str, *, give_up_keys: bool = False, **kw
    ):  # type: ignore[no-untyped-def]
        options = self.register_options()
        assert options.status_code == 200, options.get_data(as_text=True)
        credential = auth.create(options.get_json(), **kw)
        return self.register_answer(label, credential, give_up_keys=give_up_keys)

    # --- sign-in
    def password(self, username: str, next_url: str | None = None):  # type: ignore[no-untyped-def]
        return AuthActions(self.client).login(username, next_url=next_url)

    def signin_options(self):  # type: ignore[no-untyped-def]
        return self.post_json("/account/login/2fa/webauthn/options", {}, "/account/login/2fa")

    def signin_answer(self, credential: dict):  # type: ignore[no-untyped-def]
        return self.post_json(
            "/account/login/2fa/webauthn", {"credential": credential}, "/account/login/2fa"
        )

    def signin_with_key(self, auth: SoftwareAuthenticator, **kw):  # type: ignore[no-untyped-def]
        options = self.signin_options()
        assert options.status_code == 200, options.get_data(as_text=True)
        return self.signin_answer(auth.get(options.get_json(), **kw))

    def signin_totp(self, code: str):  # type: ignore[no-untyped-def]
        token = self.token("/account/login/2fa")
        return self.client.post("/account/login/2fa/totp", data={"csrf_token": token, "code": code})

    def signin_recovery(self, code: str):  # type: ignore[no-untyped-def]
        token = self.token("/account/login/2fa")
        return self.client.post(
            "/account/login/2fa/recovery", data={"csrf_token": token, "recovery_code": code}
        )

    def logout(self) -> None:
        AuthActions(self.client).logout()

    def signed_in_as(self) -> str | None:
        response = self.client.get("/account/")
        if response.status_code != 200:
            return None
        html = response.get_data(as_text=True)
        import re

        match = re.search(r"<dt>Username</dt><dd>([^<]+)</dd>", html)
        return match.group(1) if match else None


@pytest.fixture
def flow(app: Flask, client: FlaskClient) -> Flow:
    return Flow(app, client)


@pytest.fixture
def alice(app: Flask):  # type: ignore[no-untyped-def]
    return make_user(app, "alice")


def events_of(app: Flask, kind: str) -> list:
    from sqlalchemy import select

    from giveaway import db
    from giveaway.events.models import Event

    with app.app_context():
        found = list(db.session().scalars(select(Event).where(Event.kind == kind)))
        db.session().expunge_all()
        return found


def reload_user(app: Flask, username: str):  # type: ignore[no-untyped-def]
    from giveaway import db
    from giveaway.accounts.service import by_username

    with app.app_context():
        user = by_username(db.session(), username)
        db.session().expunge(user)
        return user
