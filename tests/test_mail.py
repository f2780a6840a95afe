"""Mail: templates, the queue sent after commit, and the three transports.

The SMTP transport is tested against a real server on localhost (aiosmtpd)
that requires STARTTLS with a self-signed certificate and checks credentials.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import ipaddress
import socket
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from giveaway import db, mail
from giveaway.mail.transports import (
    ConsoleTransport,
    FileTransport,
    SMTPTransport,
    transport_from_url,
)
from tests.factories import make_user

USER, PASSWORD = "mailer", "s3cret-pass"


def _message(subject: str = "Hello") -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = "portal@example.org"
    message["To"] = "maria@example.org"
    message["Subject"] = subject
    message.set_content("Plain text with ünïcode.")
    message.add_alternative("<p>HTML</p>", subtype="html")
    return message


# --- a real SMTP server ---------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 Message accepted"


def _check_credentials(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    # handled=False: let the server answer 535 itself.
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    def __init__(self, directory: Path) -> None:
        self.cert, key = _self_signed(directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.collector = Collector()
        self.port = _free_port()
        self.controller = Controller(
            self.collector,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=_check_credentials,
            auth_required=True,
        )

    def url(self, user: str = USER, password: str = PASSWORD, **query: str) -> str:
        params = {"tls": "required", "cafile": str(self.cert)} | query
        qs = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
        return f"smtp://{user}:{password}@127.0.0.1:{self.port}?{qs}"


@pytest.fixture
def smtp_server(tmp_path):  # type: ignore[no-untyped-def]
    server = SMTPServer(tmp_path)
    server.controller.start()
    yield server
    server.controller.stop()


def test_smtp_sends_over_starttls_with_credentials(smtp_server):
    transport = transport_from_url(smtp_server.url())
    assert isinstance(transport, SMTPTransport)
    transport.send(_message())
    [received] = smtp_server.collector.messages
    assert received["Subject"] == "Hello"
    assert received.get_body(preferencelist=("plain",)).get_content().strip() == (
        "Plain text with ünïcode."
    )
    assert smtp_server.collector.envelopes == [("portal@example.org", ["maria@example.org"])]


def test_smtp_credentials_with_special_characters_are_unquoted(tmp_path):
    transport = transport_from_url("smtp://me%40host:p%2Fw%3A@127.0.0.1:2525")
    assert (transport.username, transport.password) == ("me@host", "p/w:")
    assert transport.port == 2525 and transport.starttls == "auto"


def test_smtp_wrong_password_is_an_error(smtp_server):
    import smtplib

    with pytest.raises(smtplib.SMTPAuthenticationError):
        transport_from_url(smtp_server.url(password="wrong")).send(_message())
    assert smtp_server.collector.messages == []


def test_smtp_refuses_an_untrusted_certificate(smtp_server):
    with pytest.raises(ssl.SSLCertVerificationError):
        transport_from_url(smtp_server.url(cafile=None)).send(_message())
    assert smtp_server.collector.messages == []


def test_smtp_tls_required_refuses_a_server_without_starttls(tmp_path):
    collector = Collector()
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        import smtplib

        with pytest.raises(smtplib.SMTPNotSupportedError):
            transport_from_url(f"smtp://127.0.0.1:{port}?tls=required").send(_message())
        transport_from_url(f"smtp://127.0.0.1:{port}").send(_message())  # auto: plain is allowed
        assert len(collector.messages) == 1
    finally:
        controller.stop()


def test_the_portal_mails_through_smtp(tmp_path, sqlite_template, smtp_server):
    from tests.conftest import AuthActions, make_sqlite_app

    app = make_sqlite_app(tmp_path, sqlite_template, MAIL_URL=smtp_server.url())
    response = AuthActions(app.test_client()).register("newbie")
    assert response.status_code == 302
    [received] = smtp_server.collector.messages
    assert received["To"] == "newbie@example.org"
    assert "/account/verify/" in received.get_body(preferencelist=("plain",)).get_content()
    assert "/account/verify/" in received.get_body(preferencelist=("html",)).get_content()
    app.extensions["db.engine"].dispose()


# --- file and console -------------------------------------------------------------------


def test_file_transport_writes_one_eml_per_message(tmp_path):
    transport = transport_from_url(f"file://{tmp_path / 'out'}")
    assert isinstance(transport, FileTransport)
    transport.send(_message("one"))
    transport.send(_message("two"))
    files = sorted((tmp_path / "out").iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    subjects = {
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Subject"]
        for f in files
    }
    assert subjects == {"one", "two"}


def test_console_transport_prints_the_message():
    stream = io.StringIO()
    ConsoleTransport(stream).send(_message("printed"))
    assert "Subject: printed" in stream.getvalue()
    assert isinstance(transport_from_url("console:"), ConsoleTransport)


@pytest.mark.parametrize("url", ["ftp://x", "smtp://h?bogus=1", "file://", "smtp://h:notaport"])
def test_bad_mail_urls_are_refused(url):
    with pytest.raises(ValueError, match="MAIL_URL"):
        transport_from_url(url)


# --- templates and the queue --------------------------------------------------------------


def _as_received(message):  # type: ignore[no-untyped-def]
    """The message as a mail client reads it: its bytes, parsed with the modern policy."""
    import email
    import email.policy

    raw = bytes(message)
    assert raw.isascii(), "a message must go out as 7-bit ASCII"
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_messages_have_text_and_html_from_templates(app):
    user = make_user(app, "maria")
    with app.test_request_context():
        message = _as_received(
            mail.build(user.email, "verify_email", user=user, link="http://x/verify/t")
        )
    assert message["Subject"] == "Verify your email address for Security Key Giveaway"
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Message-ID"]
    assert "http://x/verify/t" in message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'href="http://x/verify/t"' in html


def test_html_body_escapes_what_users_typed(app):
    user = make_user(app, "maria")
    user.username = "<b>maria</b>"
    with app.test_request_context():
        message = _as_received(mail.build(user.email, "verify_email", user=user, link="http://x/"))
    assert "<b>maria</b>" not in message.get_body(preferencelist=("html",)).get_content()


def test_queued_mail_goes_out_only_after_commit(app, outbox):
    user = make_user(app, "maria")
    with app.app_context():
        mail.send(user.email, "verify_email", user=user, link="http://x/")
        assert len(outbox) == 0
        db.commit()
        assert len(outbox) == 1


def test_queued_mail_is_dropped_when_the_command_fails(app, outbox):
    user = make_user(app, "maria")

    @db.transactional
    def failing() -> None:
        mail.send(user.email, "verify_email", user=user, link="http://x/")
        raise RuntimeError("stop")

    with app.app_context():
        with pytest.raises(RuntimeError):
            failing()
        db.commit()  # a later commit in the same context must not send it
    assert len(outbox) == 0


def test_mail_failure_is_logged_not_raised(app, caplog, monkeypatch):
    user = make_user(app, "maria")

    class Broken:
        def send(self, message):  # type: ignore[no-untyped-def]
            raise OSError("mail server down")

    app.extensions["mail.transport"] = Broken()
    with app.app_context():
        mail.send(user.email, "verify_email", user=user, link="http://x/")
        db.commit()  # commits the work, then fails to send: no exception
    assert "could not send mail" in caplog.text


def test_links_in_mail_are_built_on_base_url_not_the_host_header(app):
    from giveaway.links import external_url

    app.config["BASE_URL"] = "https://giveaway.example/portal"
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert external_url("accounts.verify_email", token="t") == (
            "https://giveaway.example/portal/account/verify/t"
        )


def test_mail_queued_by_a_failing_request_is_never_sent(app, outbox):
    user = make_user(app, "maria")

    @app.get("/mail-then-crash")
    def mail_then_crash():  # type: ignore[no-untyped-def]
        mail.send(user.email, "verify_email", user=user, link="http://x/")
        raise RuntimeError("after queueing")

    assert app.test_client().get("/mail-then-crash").status_code == 500
    assert len(outbox) == 0


def test_links_stay_whole_in_the_raw_eml_file(app, outbox):
    """Developers open .eml files in an editor: no quoted-printable breaks in links."""
    user = make_user(app, "maria")
    link = "http://localhost/account/verify/" + "x" * 120
    with app.app_context():
        mail.send(user.email, "verify_email", user=user, link=link)
        db.commit()
    [path] = list(outbox.directory.glob("*.eml"))
    raw = path.read_text()
    assert f"\n{link}\n" in raw
    assert "quoted-printable" not in raw


def test_non_ascii_bodies_are_still_encoded_safely(app):
    user = make_user(app, "maria")
    user.email = "mariá@example.org"
    with app.app_context():
        message = _as_received(mail.build(user.email, "verify_email", user=user, link="http://x/"))
    assert message.get_body(preferencelist=("plain",))["Content-Transfer-Encoding"] != "7bit"
    assert "mariá@example.org" in message.get_body(preferencelist=("plain",)).get_content()


def test_non_ascii_names_arrive_whole(app):
    user = make_user(app, "maria")
    user.username = "Mariá Łukasz"
    to = mail.recipient(user.username, user.email)
    with app.app_context():
        message = _as_received(mail.build(to, "claim_receipt", **_receipt_context(user)))
    assert message["To"].addresses[0].display_name == "Mariá Łukasz"
    assert message["To"].addresses[0].addr_spec == user.email
    assert "Mariá Łukasz" in message.get_body(preferencelist=("plain",)).get_content()
    assert "Mariá Łukasz" in message.get_body(preferencelist=("html",)).get_content()


def _receipt_context(user):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return {
        "user": user,
        "code": "CODE-1234-ABCD",
        "expires_at": datetime(2027, 1, 31, tzinfo=UTC),
        "keys_per_code": 2,
        "vendor": "KeyVendor",
        "setup_link": "http://localhost/giveaway/setup",
    }
