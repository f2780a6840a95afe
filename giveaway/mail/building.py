"""Building a message: templates rendered into a multipart/alternative email."""

from __future__ import annotations

import secrets
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid
from typing import Any

from flask import current_app, render_template

from giveaway import i18n


def build(to: str, template: str, **context: object) -> Message:
    """Render templates/email/<template>/{subject.txt,body.txt,body.html}.

    In the language of the recipient (`user` in the context: their saved
    choice, else the default), whoever sends it: a request in another
    language, an admin's action, a cron job.
    Built with the email package's MIME classes (compat32 policy): the same
    multipart/alternative message as EmailMessage's, for a twentieth of the CPU
    (every claim mails a receipt, so this is on the stampede's path).
    """
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    context.setdefault("index_name", current_app.config["INDEX_NAME"])
    context.setdefault("base_url", current_app.config["BASE_URL"].rstrip("/"))
    context.setdefault("support_email", current_app.config["SUPPORT_EMAIL"])
    with i18n.speaking(i18n.for_recipient(context.get("user"))):
        subject = render_template(f"email/{template}/subject.txt", **context).strip()
        text = render_template(f"email/{template}/body.txt", **context)
        html = render_template(f"email/{template}/body.html", **context)
    # A random boundary of our own: the generator would otherwise compile a
    # regular expression per message to pick one that the body does not contain.
    message = MIMEMultipart("alternative", boundary=f"=_{secrets.token_hex(16)}")
    _set_header(message, "Subject", " ".join(subject.split()))
    _set_header(message, "From", current_app.config["MAIL_FROM"])
    _set_header(message, "To", to)
    message["Message-ID"] = make_msgid(domain="giveaway.local")
    message.attach(_text_part(text, "plain"))
    message.attach(_text_part(html, "html"))
    return message


def recipient(name: str, email: str) -> str:
    """A To: value with a display name, encoded safely whatever the name holds."""
    return formataddr((name, email))


def _set_header(message: Message[Any, Any], name: str, value: str) -> None:
    """ASCII as it is; anything else as an RFC 2047 encoded word in UTF-8.

    The compat32 messages built here take a Header as a value (and fold it
    themselves); the stubs type the MIME classes' values as str only, hence
    a message of any header types here.
    """
    message[name] = value if value.isascii() else Header(value, "utf-8")


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    """7bit for plain ASCII, so a link stays whole on its line in the .eml file.

    (quoted-printable would break it with "=" every 76 characters.) RFC 5322
    allows lines of up to 998 characters; anything else is UTF-8 in
    quoted-printable, which keeps mostly-ASCII text readable.
    """
    if body.isascii() and all(len(line) <= 998 for line in body.splitlines()):
        return MIMEText(body, subtype, "us-ascii")
    # What MIMEText does with a Charset (its stubs take only a name): the
    # charset's name in Content-Type, the body in its encoding.
    part = MIMENonMultipart("text", subtype, charset=str(_UTF8_QP))
    part.set_payload(body, _UTF8_QP)
    return part


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
