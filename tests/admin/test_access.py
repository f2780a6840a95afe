"""Every admin URL, GET and POST, refused to anyone but an admin with 2FA."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_token
from tests.factories import make_admin, make_user
from tests.security.test_every_url import build


def admin_rules(app):  # type: ignore[no-untyped-def]
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, build(rule)))
    assert ("GET", "/admin/") in found and ("GET", "/admin/compliance") in found
    assert any(method == "POST" for method, _ in found)
    return found


def _open(client, method, path, token):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data={"csrf_token": token})


@pytest.mark.parametrize("who", ["anonymous", "maintainer", "admin_without_2fa"])
def test_every_admin_url_is_refused(app, client, auth, who):
    if who == "maintainer":
        make_user(app, "plain")
        auth.login("plain")
    elif who == "admin_without_2fa":
        make_user(app, "no2fa", is_admin=True)
        auth.login("no2fa")
    # A valid CSRF token: the POSTs are refused by the access rule, not by CSRF.
    token = csrf_token(client, "/account/login" if who == "anonymous" else "/account/")
    for method, path in admin_rules(app):
        response = _open(client, method, path, token)
        where = f"{who} {method} {path}"
        assert "did not come from this site" not in response.get_data(as_text=True), where
        if who == "anonymous":
            assert response.status_code == 302, where
            assert "/account/login" in response.headers["Location"], where
        elif who == "maintainer":
            assert response.status_code == 403, where
        else:
            assert response.status_code == 302, where
            assert response.headers["Location"].endswith("/account/security"), where


def test_admins_with_2fa_get_every_page(app, client, auth):
    make_admin(app, "root")
    auth.login_with_totp("root")
    for method, path in admin_rules(app):
        if method != "GET":
            continue
        response = client.get(path)
        # Pages with an id in the path answer 404 for the made-up id.
        assert response.status_code in (200, 404), f"GET {path}: {response.status_code}"
        if re.search(r"/\d+(/|$)", path) is None:
            assert response.status_code == 200, path
