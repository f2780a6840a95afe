from datetime import UTC, datetime

import pytest

from giveaway import db
from giveaway.events import service as events
from tests.factories import make_admin, make_project, make_user


@pytest.fixture
def admin(app):
    return make_admin(app, "root")


@pytest.fixture
def admin_client(app, client, auth, admin):
    assert auth.login_with_totp("root").status_code == 302
    return client


ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/events"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_maintainers_are_refused(app, client, auth, path):
    make_user(app, "mallory")
    auth.login("mallory")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admins_without_2fa_are_sent_to_set_it_up(app, client, auth, path):
    make_user(app, "newadmin", is_admin=True)
    auth.login("newadmin")
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/security")
    assert "must use two-factor" in client.get("/account/security").get_data(as_text=True)


def test_user_search_by_username_and_email(app, admin_client):
    make_user(app, "Carol", email="carol@corp.example")
    make_user(app, "dave")
    html = admin_client.get("/admin/users?q=CORP.EX").get_data(as_text=True)
    assert "Carol" in html and "dave" not in html
    html = admin_client.get("/admin/users?q=dav").get_data(as_text=True)
    assert "dave" in html and "Carol" not in html
    # LIKE wildcards are taken literally.
    assert "No user matches" in admin_client.get("/admin/users?q=%25").get_data(as_text=True)


def test_user_page_shows_roles_and_events(app, admin_client):
    erin = make_user(app, "erin")
    make_project(app, "Big-Lib", maintainers=[(erin, "Owner")], critical=True)
    with app.app_context():
        events.record(db.session(), "login:success", erin)
        db.session().commit()
    html = admin_client.get(f"/admin/users/{erin.id}").get_data(as_text=True)
    assert "Big-Lib" in html and "Owner" in html and "login:success" in html
    assert admin_client.get("/admin/users/999999").status_code == 404


def _event(app, kind, user, when):
    with app.app_context():
        session = db.session()
        e = events.record(session, kind, user)
        e.created_at = when
        session.commit()


def test_events_filter_by_user_kind_and_dates(app, admin_client):
    frank = make_user(app, "frank")
    grace = make_user(app, "grace")
    _event(app, "login:failure", frank, datetime(2026, 3, 1, 10, tzinfo=UTC))
    _event(app, "login:success", frank, datetime(2026, 3, 5, 10, tzinfo=UTC))
    _event(app, "login:success", grace, datetime(2026, 3, 9, 10, tzinfo=UTC))

    def shown(query):
        html = admin_client.get("/admin/events?" + query).get_data(as_text=True)
        return html.count("<tr><td>")

    assert shown("user=frank") == 2
    assert shown("user=FRANK&kind=login:success") == 1
    assert shown("since=2026-03-05") >= 2
    assert shown("since=2026-03-02&until=2026-03-05") == 1


def test_events_bad_dates_are_a_clear_400(admin_client):
    response = admin_client.get("/admin/events?since=yesterday")
    assert response.status_code == 400
    assert "is not a date" in response.get_data(as_text=True)
    response = admin_client.get("/admin/events?since=2026-03-09&until=2026-03-01")
    assert response.status_code == 400
    assert "start date is after the end date" in response.get_data(as_text=True)


def test_events_csv_is_formula_safe(app, admin_client):
    user = make_user(app, "henry")
    with app.app_context():
        events.record(db.session(), "=cmd|' /C calc'!A0", user)
        db.session().commit()
    response = admin_client.get("/admin/events?format=csv&user=henry")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "when,kind,user,actor,ip_address,detail"
    kind_cell = lines[1].split(",")[1]
    assert kind_cell.startswith("'=cmd")


def test_events_are_paginated(app, admin_client):
    user = make_user(app, "ivy")
    with app.app_context():
        for _ in range(60):
            events.record(db.session(), "bulk", user)
        db.session().commit()
    first = admin_client.get("/admin/events?kind=bulk").get_data(as_text=True)
    assert "Page 1 of 2" in first
    second = admin_client.get("/admin/events?kind=bulk&page=2").get_data(as_text=True)
    assert second.count("<code>bulk</code>") == 10
