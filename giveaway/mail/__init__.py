"""Mail: messages rendered from templates, sent after the work is committed.

`send(...)` queues a message; `giveaway.db.commit()` sends the queue once the
transaction behind it has committed, so nobody is told about something that
did not happen. The transport comes from MAIL_URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import Flask, current_app, g, has_request_context, render_template

from giveaway.mail.transports import Transport, transport_from_url

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.extensions["mail.transport"] = transport_from_url(app.config["MAIL_URL"])


def transport() -> Transport:
    return current_app.extensions["mail.transport"]


def build(to: str, template: str, **context: object) -> EmailMessage:
    """Render templates/email/<template>/{subject.txt,body.txt,body.html}."""
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    context.setdefault("base_url", current_app.config["BASE_URL"].rstrip("/"))
    context.setdefault("support_email", current_app.config["SUPPORT_EMAIL"])
    subject = render_template(f"email/{template}/subject.txt", **context).strip()
    text = render_template(f"email/{template}/body.txt", **context)
    html = render_template(f"email/{template}/body.html", **context)
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="giveaway.local")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send(to: str, template: str, **context: object) -> EmailMessage:
    """Queue a message; it goes out when the current unit of work commits."""
    message = build(to, template, **context)
    g.setdefault("mail_queue", []).append(message)
    return message


def send_later(to: str, template: str, context: Callable[[], dict[str, object]]) -> None:
    """Like `send`, but the context is gathered and the message rendered only once
    the work has committed: for hot, locking paths (the claim), so that the
    transaction lasts no longer than its database work."""
    g.setdefault("mail_queue", []).append(lambda: build(to, template, **context()))


def flush_queue() -> int:
    """Send what was queued; a failure is logged, not raised (the work stands)."""
    queue = g.pop("mail_queue", [])
    sent = 0
    for message in queue:
        try:
            if callable(message):
                message = message()
            transport().send(message)
            sent += 1
        except Exception:  # noqa: BLE001 - mail trouble must not undo committed work
            subject = message["Subject"] if isinstance(message, EmailMessage) else "(unrendered)"
            log.exception("could not send mail %r", subject)
    return sent


def discard_queue() -> None:
    g.pop("mail_queue", None)


def recipient(name: str, email: str) -> str:
    return formataddr((name, email))


__all__ = ["build", "discard_queue", "flush_queue", "has_request_context", "send", "send_later"]
