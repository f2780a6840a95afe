"""Mail: messages built from templates, kept in an outbox, delivered after commit.

Three ideas, one module each: `building` renders a message; `outbox` keeps it
in the transaction of the work it reports and sends it once that commits (at
least once, never while another sender holds it); `courier` is the thread
that delivers a web request's mail after the response. The transport comes
from MAIL_URL (`transports`).
"""

from __future__ import annotations

from flask import Flask

from giveaway.mail.building import build, recipient
from giveaway.mail.courier import Courier
from giveaway.mail.outbox import (
    BATCH,
    LEASE,
    RETRY_DELAYS,
    deliver,
    deliver_many,
    discard_queue,
    pending_ids,
    retry_pending,
    send,
    send_later,
    transport,
)
from giveaway.mail.transports import transport_from_url


def init_app(app: Flask) -> None:
    from giveaway.settings import SettingsError

    try:
        app.extensions["mail.transport"] = transport_from_url(
            app.config["MAIL_URL"], timeout=float(app.config["MAIL_TIMEOUT"])
        )
    except ValueError as exc:
        raise SettingsError(f"Refusing to start: {exc}") from exc
    if app.config.get("MAIL_DELIVERY", "inline") not in ("inline", "background"):
        raise SettingsError(
            "Refusing to start: MAIL_DELIVERY must be 'inline' or 'background', "
            f"not {app.config['MAIL_DELIVERY']!r}"
        )
    app.extensions["mail.courier"] = Courier(app, BATCH)


__all__ = [
    "BATCH",
    "LEASE",
    "RETRY_DELAYS",
    "build",
    "deliver",
    "deliver_many",
    "discard_queue",
    "init_app",
    "pending_ids",
    "recipient",
    "retry_pending",
    "send",
    "send_later",
    "transport",
]
