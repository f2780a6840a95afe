"""Email speaks its recipient's language, whoever sends it and from where."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from giveaway import i18n, mail
from giveaway.projects.models import RoleName
from tests.conftest import AuthActions, Outbox, post_form
from tests.critical.conftest import import_rows, run
from tests.factories import make_admin, make_project, make_user, reload_user


def build_for(app: Flask, user: object, **headers: str):  # type: ignore[no-untyped-def]
    with app.test_request_context(headers=headers):
        return mail.build("x@example.org", "reset_password", user=user, link="http://localhost/r")


def test_a_recipient_s_saved_language(app: Flask) -> None:
    user = make_user(app, "anna", locale="de")
    message = build_for(app, user, **{"Accept-Language": "en"})
    assert str(message["Subject"]) == "Setzen Sie Ihr Passwort auf Security Key Giveaway zurück"
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "Hallo anna," in text
    html = message.get_payload()[1].get_payload(decode=True).decode()
    assert '<html lang="de">' in html


def test_not_the_sender_s_language(app: Flask) -> None:
    """An administrator's German request mails someone who chose nothing: the default."""
    from flask_login import login_user

    admin = make_admin(app, "root")
    user = make_user(app, "bob")
    with app.test_request_context(headers={"Accept-Language": "de"}):
        login_user(admin)
        message = mail.build("x@example.org", "reset_password", user=user, link="http://x/r")
        assert i18n.current() == "de"  # the page itself still speaks German
    assert message["Subject"] == "Reset your password on Security Key Giveaway"


def test_at_the_keyboard_the_request_s_language(app: Flask, client: FlaskClient) -> None:
    """Someone registering in a German browser gets the verification link in German."""
    outbox = Outbox(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-AT,de;q=0.9"
    AuthActions(client).register("lena")
    (message,) = outbox.to("lena@example.org")
    assert "Hallo lena," in Outbox.text(message)


def test_the_browser_s_language_at_sign_in_is_kept_for_later_mail(
    app: Flask, client: FlaskClient
) -> None:
    """Cron mails in the language the browser asked for at the last sign-in."""
    make_user(app, "anna")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    AuthActions(client).login("anna")
    anna = reload_user(app, "anna")
    assert anna is not None and anna.browser_locale == "de" and anna.locale is None
    with app.app_context():  # no request: a cron job
        assert i18n.for_recipient(anna) == "de"
        message = mail.build("anna@example.org", "reset_password", user=anna, link="http://x/r")
    assert "Hallo anna," in message.get_payload()[0].get_payload(decode=True).decode()
    # A choice made in the menu wins over the browser.
    anna.locale = "en"
    with app.app_context():
        assert i18n.for_recipient(anna) == "en"


def test_a_browser_asking_for_nothing_shipped_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    make_user(app, "piet", browser_locale="de")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "pt-BR"
    AuthActions(client).login("piet")
    piet = reload_user(app, "piet")
    assert piet is not None and piet.browser_locale == "de"


def test_a_language_no_longer_shipped_falls_back(app: Flask) -> None:
    user = make_user(app, "carla", locale="fr")
    assert build_for(app, user)["Subject"] == "Reset your password on Security Key Giveaway"
    with app.app_context():
        assert i18n.for_recipient(None) == "en"


def test_a_request_s_mail_in_the_recipient_s_language(app: Flask, client: FlaskClient) -> None:
    make_user(app, "anna", locale="de")
    outbox = Outbox(app)
    post_form(client, "/account/reset", {"identifier": "anna@example.org"})
    (message,) = outbox.to("anna@example.org")
    assert message["Subject"] == "Setzen Sie Ihr Passwort auf Security Key Giveaway zurück"
    assert "Hallo anna," in Outbox.text(message)


def test_cron_mail_in_each_recipient_s_language(app: Flask, tmp_path: Path) -> None:
    """compute-critical runs from cron, with no request: each maintainer in their language."""
    anna = make_user(app, "anna", locale="de")
    bob = make_user(app, "bob")
    make_project(app, "toolbelt", maintainers=[(anna, RoleName.OWNER), (bob, RoleName.OWNER)])
    make_project(app, "zeroconf", maintainers=[(anna, RoleName.OWNER)])
    rows = [("toolbelt", 900), ("zeroconf", 800), *[(f"f{i}", 1) for i in range(198)]]
    import_rows(app, tmp_path, "2026-03", rows)
    result = run(app, "compute-critical", "--as-of", "2026-04-15")
    assert result.exit_code == 0, result.output
    outbox = Outbox(app)
    (german,) = outbox.to("anna@example.org")
    assert german["Subject"] == "2 Ihrer Projekte sind jetzt kritische Projekte auf PyPI"
    assert "Hallo anna," in Outbox.text(german)
    (english,) = outbox.to("bob@example.org")
    assert english["Subject"] == "toolbelt is now a critical project on PyPI"
    assert "Hello bob," in Outbox.text(english)
