"""Where mail goes: an SMTP server, a directory of .eml files, or the console."""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import sys
import time
import uuid
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Protocol, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None: ...


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope (bare addresses) of a message, from its headers."""
    sender = parseaddr(str(message["From"] or ""))[1]
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return sender, [address for _, address in getaddresses(fields) if address]


class SMTPTransport:
    """SMTP with STARTTLS when the server offers it (or required with ?tls=required)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        implicit_tls: bool = False,
        starttls: str = "auto",
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.implicit_tls = implicit_tls
        self.starttls = starttls
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: EmailMessage) -> None:
        sender, recipients = envelope(message)
        self.send_raw(sender, recipients, bytes(message))

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None:
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if not self.implicit_tls and self.starttls != "off":
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                elif self.starttls == "required":
                    raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
            if self.username:
                smtp.login(self.username, self.password or "")
            # SMTP lines end in CRLF; the stored message may use bare LF.
            smtp.sendmail(sender, recipients, re.sub(rb"\r?\n", b"\r\n", data))


class FileTransport:
    """One RFC 5322 .eml file a message, for development and tests."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        self.send_raw(*envelope(message), bytes(message))

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
        tmp = self.directory / (name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(self.directory / name)  # readers never see half a message


class ConsoleTransport:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: EmailMessage) -> None:
        self.send_raw(*envelope(message), bytes(message))

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None:
        stream = self.stream or sys.stderr
        stream.write(data.decode("utf-8", "replace") + "\n" + "-" * 72 + "\n")
        stream.flush()


def transport_from_url(url: str, *, timeout: float = 10.0) -> Transport:
    """The transport MAIL_URL names; ValueError with the reason when it is not understood.

    smtp://user:password@host:port sends with STARTTLS when the server offers it;
    query parameters: tls=required (refuse to send without STARTTLS) or tls=off,
    cafile=/path/to/ca.pem (trust this certificate authority, e.g. a private one),
    timeout=SECONDS. smtps:// uses TLS from the first byte (port 465).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("smtp", "smtps"):
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"tls", "cafile", "timeout"})
        if unknown:
            raise ValueError(f"MAIL_URL has unknown parameters: {', '.join(unknown)}")
        starttls = query.get("tls", ["auto"])[0]
        if starttls not in ("auto", "required", "off"):
            raise ValueError("MAIL_URL tls= must be auto, required or off")
        cafile = query.get("cafile", [None])[0]
        try:
            context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"MAIL_URL cafile {cafile!r} cannot be read: {exc}") from exc
        try:
            seconds = float(query.get("timeout", [timeout])[0])
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"MAIL_URL is not understood: {exc}") from exc
        return SMTPTransport(
            parts.hostname or "localhost",
            port or (465 if scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=scheme == "smtps",
            starttls=starttls,
            timeout=seconds,
            ssl_context=context,
        )
    if scheme == "file":
        if not parts.path:
            raise ValueError(f"MAIL_URL {url!r} names no directory: use file:///absolute/dir")
        return FileTransport(unquote(parts.path))
    if scheme == "console":
        return ConsoleTransport()
    raise ValueError(
        f"MAIL_URL {url!r} is not understood: use smtp://host:port, file:///dir or console:"
    )
