"""Every email, in every shipped language, sent by the code that sends it.

Each template is sent once (each variant the wording depends on: the three
2FA methods added, a password changed or first set) to a maintainer who chose
the language, through the portal's own services and commands (a claim, the
expiry job, the critical-project computation, the mandate's reminders…). Read
in the pseudo-locale, nothing may be left unmarked; in each shipped language
no sentence of the English catalog may be left, and the HTML part names the
language.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel import Locale
from flask import Flask
from sqlalchemy import select

from giveaway import clock, db
from giveaway.accounts import breached, service
from giveaway.accounts.models import User
from giveaway.claims import claim, eligibility, expiry, restock
from giveaway.mail.models import OutboxMessage
from giveaway.privacy import service as privacy
from giveaway.twofactor import recovery, reset, totp
from tests import factories
from tests.conftest import TEST_PASSWORD, Outbox
from tests.critical.conftest import import_rows, run
from tests.factories import (
    add_key,
    add_recovery_codes,
    enable_totp,
    make_admin,
    make_batch,
    make_project,
    make_user,
)
from tests.i18n import pseudo
from tests.i18n.test_every_page import LOCALES, english_sentences, html_lang, page_text
from tests.i18n.walk import DATA

TEMPLATES = {
    "verify_email",
    "activate_account",
    "reset_password",
    "password_changed",
    "password_breached",
    "account_deleted",
    "twofactor_added",
    "twofactor_removed",
    "twofactor_recovery_used",
    "twofactor_reset",
    "critical_project",
    "claim_receipt",
    "claim_reminder",
    "codes_returned",
    "mandate_reminder",
}
# (template, variant): who receives it; each a user of its own.
SENT = {
    ("verify_email", ""): "verify",
    ("activate_account", ""): "activate",
    ("reset_password", ""): "resetme",
    ("password_changed", "changed"): "changer",
    ("password_changed", "activated"): "activated",
    ("password_breached", ""): "breached",
    ("account_deleted", ""): "leaver",
    ("twofactor_added", "totp"): "apper",
    ("twofactor_added", "key"): "keyholder",
    ("twofactor_added", "recovery codes"): "coder",
    ("twofactor_removed", ""): "remover",
    ("twofactor_recovery_used", ""): "recoverer",
    ("twofactor_reset", ""): "resetted",
    ("critical_project", ""): "critic",
    ("claim_receipt", ""): "claimer",
    ("claim_reminder", ""): "forgetter",
    ("codes_returned", ""): "waiter",
    ("mandate_reminder", ""): "mandated",
}
NEW_PASSWORD = "a-brand-new-long-passphrase-42"


def _send_every_email(app: Flask, tmp_path: Path, locale: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The factories take their own mail back out of the outbox; here it is the point.
    monkeypatch.setattr(factories, "_outbox_files", lambda app: set())
    users = {name: make_user(app, name, locale=locale) for name in set(SENT.values())}
    admin = make_admin(app, "root")
    # The ones whose projects are critical: the claimers, the critic, the mandated.
    critical = ["claimer", "forgetter", "waiter", "critic", "mandated"]
    for name in critical:
        make_project(app, f"{name}-lib", maintainers=[(users[name], "Owner")])
    rows = [(f"{name}-lib", 900 - i) for i, name in enumerate(critical)]
    import_rows(app, tmp_path, "2026-03", [*rows, *[(f"f{i}", 1) for i in range(495)]])
    result = run(app, "compute-critical", "--as-of", "2026-04-15")  # mails the critic and all
    assert result.exit_code == 0, result.output

    def person(session, name: str) -> User:  # type: ignore[no-untyped-def]
        found = session.get(User, users[name].id)
        assert found is not None
        return found

    with app.test_request_context():
        session = db.session()
        now = clock.now()
        service.send_verification(person(session, "verify"))
        service.send_activation(person(session, "activate"))
        service.request_password_reset(session, "resetme")
        service.set_password(
            session, person(session, "changer"), NEW_PASSWORD, kind="password:changed"
        )
        service.set_password(
            session, person(session, "activated"), NEW_PASSWORD, kind="account:activated"
        )
        monkeypatch.setattr(breached.passwords, "is_breached", lambda password: True)
        assert breached.stop_if_breached(session, person(session, "breached"), TEST_PASSWORD)
        privacy.delete_account(session, person(session, "leaver"))
        session.commit()
    enable_totp(app, users["apper"])
    add_key(app, users["keyholder"])
    enable_totp(app, users["coder"])
    codes = add_recovery_codes(app, users["coder"])
    secret = enable_totp(app, users["remover"])
    enable_totp(app, users["recoverer"])
    spare = add_recovery_codes(app, users["recoverer"])
    enable_totp(app, users["resetted"])
    assert secret and codes
    with app.test_request_context():
        session = db.session()
        totp.remove_totp(session, person(session, "remover"), TEST_PASSWORD)
        assert recovery.use_recovery_code(session, person(session, "recoverer"), spare[0])
        reset.reset_2fa(session, person(session, "resetted"), session.get(User, admin.id))
        session.commit()

    # The giveaway: codes that run out, a claim, a reminder, codes back in the pool.
    make_batch(app, codes=["MAIL-CODE-0001"], expires_at=clock_now(app) + timedelta(days=5))
    with app.test_request_context():
        session = db.session()
        now = clock.now()
        assert claim.claim(session, person(session, "forgetter"), now).code is not None
        session.commit()
        waiter = person(session, "waiter")
        restock.ask(session, waiter, eligibility.check(session, waiter, now), now)
        session.commit()
        assert expiry.remind(session, now, 7) == 1
        session.commit()
    make_batch(
        app,
        codes=["MAIL-CODE-0002", "MAIL-CODE-0003"],
        store_url="https://keys.example.com/redeem",
    )
    with app.test_request_context():
        session = db.session()
        now = clock.now()
        result = claim.claim(session, person(session, "claimer"), now)
        assert result.code is not None
        session.commit()
        claim.write_receipt(session, result.code.id)
        assert restock.notify(session, now) == 1
        session.commit()
    app.config["MANDATE_2FA"] = "critical"
    result = run(app, "remind-2fa")
    assert result.exit_code == 0 and "5 reminders sent" in result.output, result.output


def clock_now(app: Flask):  # type: ignore[no-untyped-def]
    with app.app_context():
        return clock.now()


def every_email(app: Flask, tmp_path: Path, locale: str, monkeypatch) -> dict[str, EmailMessage]:  # type: ignore[no-untyped-def]
    """(template: variant) → the message sent, for every entry of SENT."""
    outbox = Outbox(app)
    outbox.clear()
    _send_every_email(app, tmp_path, locale, monkeypatch)
    # Which template each message came from: the outbox's rows say (recipient, subject).
    with app.app_context():
        rows = db.session().execute(
            select(OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.template)
        )
        templates = {(_address(to), " ".join(subject.split())): t for to, subject, t in rows}

    def template_of(message: EmailMessage) -> str | None:
        key = (_address(str(message["To"])), " ".join(str(message["Subject"]).split()))
        return templates.get(key)

    sent: dict[str, EmailMessage] = {}
    for (template, variant), name in SENT.items():
        mine = [m for m in outbox.to(f"{name}@example.org") if template_of(m) == template]
        assert mine, f"no {template} ({variant}) to {name}"
        sent[f"{template}: {variant}" if variant else template] = mine[-1]
    return sent


def _address(recipient: str) -> str:
    found = re.search(r"[\w.+-]+@[\w.-]+", recipient)
    return found.group(0).lower() if found else recipient.lower()


def parts(message: EmailMessage) -> tuple[str, str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(message["Subject"]), text.get_content(), html.get_content()


def test_every_template_is_sent() -> None:
    assert {template for template, _ in SENT} == TEMPLATES
    folder = Path(__file__).resolve().parents[2] / "templates" / "email"
    assert {path.name for path in folder.iterdir() if path.is_dir()} == TEMPLATES


class TestNothingUnmarked:
    @pytest.fixture
    def app_settings(self, tmp_path: Path) -> dict[str, object]:
        folder = pseudo.compile_pseudo(tmp_path / "pseudo", "de")
        return {"LANGUAGES": ["en", "de"], "BABEL_TRANSLATION_DIRECTORIES": str(folder)}

    def test_every_email_is_all_marked_messages_or_data(
        self, app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        german = Locale.parse("de")
        # Data: who and what the walk names, CLDR's month and day names, links.
        data = (
            *DATA,
            *SENT.values(),
            *(f"{name}-lib" for name in SENT.values()),
            "MAIL-CODE-0001",
            "MAIL-CODE-0002",
            "root",
            *german.months["format"]["wide"].values(),
            *german.days["format"]["wide"].values(),
        )
        left = []
        for label, message in every_email(app, tmp_path, "de", monkeypatch).items():
            subject, text, html = parts(message)
            text = re.sub(r"https?://[^\s⟦⟧]+", " ", text)
            for part, words in (("subject", subject), ("text", text)):
                escaped = words.replace("&", "&amp;").replace("<", "&lt;")
                left.extend(f"{label} {part}: {run!r}" for run in pseudo.unmarked(escaped, data))
            left.extend(f"{label} html: {run!r}" for run in pseudo.unmarked(html, data))
        assert left == [], "\n".join(left)


class TestEachLanguage:
    @pytest.fixture
    def app_settings(self) -> dict[str, object]:
        return {"LANGUAGES": ["en", *LOCALES]}

    @pytest.mark.parametrize("locale", LOCALES)
    def test_every_email_in_the_recipient_s_language(
        self, app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, locale: str
    ) -> None:
        sentences = english_sentences(locale)
        left = []
        for label, message in every_email(app, tmp_path, locale, monkeypatch).items():
            subject, text, html = parts(message)
            assert html_lang(html) == locale, label
            for part, words in (("subject", subject), ("text", text), ("html", page_text(html))):
                flat = " ".join(words.split())
                left.extend(f"{label} {part}: {s!r}" for s in sentences if s in flat)
        assert left == [], "\n".join(left)
