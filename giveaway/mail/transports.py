"""Where mail goes: an SMTP server, a directory of .eml files, or the console."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


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
            smtp.send_message(message)


class FileTransport:
    """One RFC 5322 .eml file a message, for development and tests."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
        tmp = self.directory / (name + ".tmp")
        tmp.write_bytes(bytes(message))
        tmp.replace(self.directory / name)  # readers never see half a message


class ConsoleTransport:
    def __init__(self, stream=None) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream

    def send(self, message: EmailMessage) -> None:
        stream = self.stream or sys.stderr
        stream.write(message.as_string() + "\n" + "-" * 72 + "\n")
        stream.flush()


def transport_from_url(url: str) -> Transport:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("smtp", "smtps"):
        from urllib.parse import parse_qs

        query = parse_qs(parts.query)
        return SMTPTransport(
            parts.hostname or "localhost",
            parts.port or (465 if scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=scheme == "smtps",
            starttls=query.get("tls", ["auto"])[0],
            timeout=float(query.get("timeout", ["10"])[0]),
        )
    if scheme == "file":
        return FileTransport(unquote(parts.path))
    if scheme == "console":
        return ConsoleTransport()
    raise ValueError(
        f"MAIL_URL {url!r} is not understood: use smtp://host:port, file:///dir or console:"
    )
