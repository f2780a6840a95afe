"""Mail: messages built from templates, kept in an outbox, delivered after commit.

Three ideas, one module each: `building` renders a message; `outbox` keeps it
in the transaction of the work it reports and sends it once that commits (at
least once, never while another sender holds it); `courier` is the thread
that delivers a web request's mail after the response. The transport comes
from MAIL_URL (`transports`).
"""

from __future__ import annotations

from flask import Flask, current_app

from giveaway.mail.building import build, recipient
from giveaway.mail.courier import Courier
from giveaway.mail.outbox import (
    BATCH,
    LEASE,
    RETRY_DELAYS,
    after_commit,
    deliver,
    deliver_many,
    discard_queue,
    pending_ids,
    retry_pending,
    send,
    send_in,
    send_later,
    transport,
    waiting,
)
from giveaway.mail.transports import Transport, transport_from_url


def check_settings() -> None:
    """Raise ValueError when MAIL_URL or MAIL_DELIVERY is unusable (settings.check)."""
    _transport_from_settings(current_app)
    if current_app.config.get("MAIL_DELIVERY", "inline") not in ("inline", "background"):
        raise ValueError(
            "MAIL_DELIVERY must be 'inline' or 'background', "
            f"not {current_app.config['MAIL_DELIVERY']!r}"
        )


def _transport_from_settings(app: Flask) -> Transport:
    return transport_from_url(app.config["MAIL_URL"], timeout=float(app.config["MAIL_TIMEOUT"]))


def init_app(app: Flask) -> None:
    """Bind the transport and the courier (settings.check has run). The outbox rides
    on the transaction boundary through SQLAlchemy's session events (outbox.py)."""
    app.extensions["mail.transport"] = _transport_from_settings(app)
    app.extensions["mail.courier"] = Courier(app, BATCH)


__all__ = [
    "BATCH",
    "LEASE",
    "RETRY_DELAYS",
    "after_commit",
    "build",
    "check_settings",
    "deliver",
    "deliver_many",
    "discard_queue",
    "init_app",
    "pending_ids",
    "recipient",
    "retry_pending",
    "send",
    "send_in",
    "send_later",
    "transport",
    "waiting",
]
