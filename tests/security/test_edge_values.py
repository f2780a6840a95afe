"""Edge values in URLs and queries: a clear 4xx or a page, never a 500.

Two of these once were: the day after 9999-12-31 (an events filter) and ids
larger than a database integer (/admin/users/99999999999999999999).
"""

from __future__ import annotations

import pytest

from tests.conftest import login_2fa
from tests.factories import make_admin

PATHS = [
    "/admin/events?until=9999-12-31",
    "/admin/events?since=0001-01-01",
    "/admin/events?since=9999-12-31",
    "/admin/events?until=0001-01-01",
    "/admin/users?page=99999999999999999999",
    "/admin/users?page=-1",
    "/admin/users?page=9223372036854775807",
    "/admin/events?page=99999999999999999999",
    "/admin/critical?page=99999999999999999999",
    "/admin/imports?page=99999999999999999999",
    "/admin/users/99999999999999999999",
    "/admin/users/9223372036854775808",
    "/admin/users/9223372036854775807",
    "/admin/users/2147483648",
    "/admin/critical?sort=__class__&order=sideways",
    "/admin/events?format=csv&until=9999-12-31",
    "/account/reset/" + "a" * 5000,
    "/account/verify/..%2F..",
    "/account/activate/%ff%fe",
    "/giveaway?region=%ff",
    "/admin/events?kind=%25&user=_",
]


@pytest.mark.parametrize("path", PATHS)
def test_edge_values_never_make_a_500(any_app, path):
    make_admin(any_app, "root")
    c = any_app.test_client()
    login_2fa(c, "root")
    response = c.get(path)
    assert response.status_code < 500, (path, response.status_code)


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000, '{"a":' * 50_000, "1" * 1_000_000, '"' + "a" * 3_000_000 + '"', "\ud800"],
)
def test_hostile_json_gets_a_clear_400(app, body):
    """JSON nested 100,000 deep once made a RecursionError and a 500."""
    from tests.conftest import csrf_token, login
    from tests.factories import make_user

    make_user(app, "alice")
    client = app.test_client()
    login(client, "alice")
    token = csrf_token(client, "/account/security")
    response = client.post(
        "/account/security/webauthn/register",
        data=body.encode("utf-8", "surrogatepass"),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_an_enormous_request_is_refused_before_it_is_read(app, client):
    response = client.post("/account/login", data={"username": "x" * (17 * 1024 * 1024)})
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)
