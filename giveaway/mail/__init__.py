"""Mail: messages rendered from templates, kept in an outbox, sent after commit.

`send(...)` writes the message to the outbox table in the current transaction
and remembers it; `giveaway.db.commit()` sends it once that transaction has
committed, so nobody is told about something that did not happen, and a message
whose sending fails stays in the outbox for `giveaway send-mail` to retry. Each
message is claimed before it is sent, so two processes never send it twice.
The transport comes from MAIL_URL.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, getaddresses, make_msgid, parseaddr
from typing import Any

from flask import Flask, current_app, g, has_request_context, render_template
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from giveaway import clock, db
from giveaway.mail.models import OutboxMessage
from giveaway.mail.transports import Transport, transport_from_url

log = logging.getLogger(__name__)

# A claim older than this is from a process that died while sending.
STALE_CLAIM = timedelta(minutes=10)
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360)]


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
    """Bind the transport (settings.check has run) and ride on the transaction boundary."""
    app.extensions["mail.transport"] = _transport_from_settings(app)
    app.extensions["mail.courier"] = Courier(app)
    boundary = db.hooks(app)
    boundary.before_commit.append(stage_queue)
    boundary.after_commit.append(flush_queue)
    boundary.after_rollback.append(discard_queue)
    app.teardown_appcontext(_forget_queue)


def _forget_queue(exc: BaseException | None) -> None:
    g.pop("mail_queue", None)


class Courier:
    """Delivers a web request's mail on a thread of its own, after the response.

    The messages are already committed to the outbox, so nothing is lost when
    the process stops first: `giveaway send-mail` (cron) sends what is left.
    One thread per process, started on first use (so after gunicorn forks).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.queue: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        self.pid: int | None = None
        self.lock = threading.Lock()

    def submit(self, ids: list[int]) -> None:
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():
                    self.queue = queue.SimpleQueue()
                    threading.Thread(target=self._run, name="giveaway-mail", daemon=True).start()
                    self.pid = os.getpid()
        self.queue.put(ids)

    def _run(self) -> None:
        while True:
            ids = self.queue.get()
            # Whatever else is waiting goes in the same batch: under a stampede
            # of claims, one claim and one mark-as-sent statement per batch
            # instead of per message.
            while len(ids) < BATCH:
                try:
                    ids = ids + self.queue.get_nowait()
                except queue.Empty:
                    break
            try:
                with self.app.app_context(), db.separate_session() as session:
                    deliver_many(session, ids)
            except Exception:  # noqa: BLE001 - the thread must live on; cron retries
                log.exception("background mail delivery failed; send-mail will retry")


def transport() -> Transport:
    return current_app.extensions["mail.transport"]


def build(to: str, template: str, **context: object) -> Message:
    """Render templates/email/<template>/{subject.txt,body.txt,body.html}.

    Built with the email package's MIME classes (compat32 policy): the same
    multipart/alternative message as EmailMessage's, for a twentieth of the CPU
    (every claim mails a receipt, so this is on the stampede's path).
    """
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    context.setdefault("index_name", current_app.config["INDEX_NAME"])
    context.setdefault("base_url", current_app.config["BASE_URL"].rstrip("/"))
    context.setdefault("support_email", current_app.config["SUPPORT_EMAIL"])
    subject = render_template(f"email/{template}/subject.txt", **context).strip()
    text = render_template(f"email/{template}/body.txt", **context)
    html = render_template(f"email/{template}/body.html", **context)
    # A random boundary of our own: the generator would otherwise compile a
    # regular expression per message to pick one that the body does not contain.
    message = MIMEMultipart("alternative", boundary=f"=_{secrets.token_hex(16)}")
    message["Subject"] = _header(" ".join(subject.split()))
    message["From"] = _header(current_app.config["MAIL_FROM"])
    message["To"] = _header(to)
    message["Message-ID"] = make_msgid(domain="giveaway.local")
    message.attach(_text_part(text, "plain"))
    message.attach(_text_part(html, "html"))
    return message


def _header(value: str) -> str | Header:
    """ASCII as it is; anything else as an RFC 2047 encoded word in UTF-8."""
    return value if value.isascii() else Header(value, "utf-8")


def _text_part(body: str, subtype: str) -> MIMEText:
    """7bit for plain ASCII, so a link stays whole on its line in the .eml file.

    (quoted-printable would break it with "=" every 76 characters.) RFC 5322
    allows lines of up to 998 characters; anything else is UTF-8 in
    quoted-printable, which keeps mostly-ASCII text readable.
    """
    if body.isascii() and all(len(line) <= 998 for line in body.splitlines()):
        return MIMEText(body, subtype, "us-ascii")
    return MIMEText(body, subtype, _UTF8_QP)


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _outbox_row(to: str, template: str, message: Message, user: object) -> OutboxMessage:
    return OutboxMessage(
        recipient=to,
        subject=str(message["Subject"])[:300],
        template=template,
        user_id=getattr(user, "id", None),
        body=bytes(message),
        created_at=clock.now(),
    )


def send(to: str, template: str, **context: object) -> Message:
    """Put a message in the outbox; it goes out when the current work commits."""
    message = build(to, template, **context)
    row = _outbox_row(to, template, message, context.get("user"))
    session = db.session()
    session.add(row)
    session.flush()
    g.setdefault("mail_queue", []).append(row.id)
    return message


def send_later(to: str, template: str, context: Callable[[], dict[str, object]]) -> None:
    """Like `send`, but rendered and put in the outbox when the work commits.

    For hot paths (the claim): the service's own statements stay free of
    rendering, and `giveaway.db.commit()` renders the message and adds its
    outbox row to the same transaction just before committing (see
    `stage_queue`), so it costs no transaction of its own. Once in the outbox
    the message is as safe as any other (kept and retried while the mail
    server is down). Work committed some other way renders it after the commit.
    """

    def render() -> OutboxMessage:
        values = context()
        return _outbox_row(to, template, build(to, template, **values), values.get("user"))

    g.setdefault("mail_queue", []).append(render)


def stage_queue(session: Session) -> None:
    """Render the `send_later` mail of this unit of work into its transaction.

    Called by `giveaway.db.commit()` just before the commit. A message that
    cannot be rendered is logged and left out: the work itself still commits
    (a claim's lost receipt is put back by the expiry job).
    """
    _stage(g.get("mail_queue") or [], session)


def _stage(pending: list[object], session: Session) -> None:
    """Replace each `send_later` item of `pending` by its outbox row, added to `session`."""
    for index, item in enumerate(pending):
        if callable(item):
            try:
                row = item()
            except Exception:  # noqa: BLE001 - the work stands regardless
                log.exception("could not render a mail; it is left out")
                pending[index] = None
                continue
            session.add(row)
            pending[index] = row


def flush_queue() -> int:
    """Send what this unit of work queued (after its commit); returns how many went."""
    pending = g.pop("mail_queue", [])
    if not pending:
        return 0
    # The work has just committed, so its session is free: reusing it (and its
    # connection) spares a checkout and a ping per request.
    with _session_after_commit() as session:
        if any(callable(item) for item in pending):
            # Queued by work that was committed without db.commit(): store it now.
            _stage(pending, session)
            try:
                session.commit()
            except Exception:  # noqa: BLE001 - the committed work stands regardless
                session.rollback()
                log.exception("could not store mail after commit; send-mail sends what is kept")
                return 0
        ids = [
            item.id if isinstance(item, OutboxMessage) else item
            for item in pending
            if item is not None
        ]
        if current_app.config.get("MAIL_DELIVERY") == "background" and has_request_context():
            current_app.extensions["mail.courier"].submit(ids)
            return 0
        return len(deliver_many(session, ids))


@contextmanager
def _session_after_commit() -> Iterator[Session]:
    if "db_session" in g and not g.db_session.in_transaction():
        yield g.db_session
        return
    with db.separate_session() as session:
        yield session


def discard_queue() -> None:
    """Forget the queue of work that was rolled back (its outbox rows are gone too)."""
    g.pop("mail_queue", None)


# Messages claimed and marked as sent by one statement each, at most.
BATCH = 50


def deliver(session: Session, ident: int) -> bool:
    """Claim, send and mark one outbox message; False when not sent (now)."""
    return deliver_many(session, [ident]) == [ident]


def deliver_many(session: Session, ids: list[int]) -> list[int]:
    """Claim, send and mark outbox messages; returns the ids that went out.

    In batches of BATCH: one UPDATE claims every message still due (so no
    other process sends it), each is sent, and one UPDATE marks those that
    went. A message whose sending failed is put back for a retry, or given up
    after the last one.
    """
    if len(ids) > BATCH:
        return [
            ident
            for start in range(0, len(ids), BATCH)
            for ident in deliver_many(session, ids[start : start + BATCH])
        ]
    if not ids:
        return []
    now = clock.now()
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            *_due(now),
        )
        .values(sending_since=now)
        .returning(
            OutboxMessage.id, OutboxMessage.body, OutboxMessage.recipient, OutboxMessage.attempts
        )
    ).all()
    session.commit()
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    sent: list[int] = []
    for row in sorted(claimed, key=lambda r: r.id):
        if row.body is None:
            continue
        try:
            # The stored bytes go out as they are: no parsing on the hot path.
            recipients = [address for _, address in getaddresses([row.recipient]) if address]
            transport().send_raw(sender, recipients, row.body)
        except Exception as exc:  # noqa: BLE001 - any failure: keep it for a retry
            _failed(session, row, exc, now)
            continue
        sent.append(row.id)
    if sent:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sent))
            .values(sent_at=clock.now(), sending_since=None, body=None, last_error=None)
        )
        session.commit()
    return sent


def _failed(session: Session, row: Any, exc: Exception, now: datetime) -> None:
    attempts = row.attempts + 1
    error = f"{exc.__class__.__name__}: {exc}"[:2000]
    values: dict[str, object] = {"attempts": attempts, "sending_since": None, "last_error": error}
    if attempts > len(RETRY_DELAYS):
        values["failed_at"] = now
        log.error("giving up on mail %s to %s after %s attempts", row.id, row.recipient, attempts)
    else:
        values["next_attempt_at"] = now + RETRY_DELAYS[attempts - 1]
        log.warning("could not send mail %s (%s); will retry", row.id, error)
    session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
    session.commit()


def _due(now: datetime) -> tuple:  # type: ignore[type-arg]
    """Not sent, not given up, its retry due, and not being sent by a live process."""
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        or_(
            OutboxMessage.sending_since.is_(None),
            OutboxMessage.sending_since < now - STALE_CLAIM,
        ),
    )


def pending_ids(session: Session, *, limit: int = 500) -> list[int]:
    now = clock.now()
    return list(
        session.scalars(
            select(OutboxMessage.id).where(*_due(now)).order_by(OutboxMessage.id).limit(limit)
        )
    )


def retry_pending(session: Session) -> tuple[int, int]:
    """Send every message due for a retry; returns (sent, still pending)."""
    ids = pending_ids(session)
    sent = len(deliver_many(session, ids))
    return sent, len(ids) - sent


def recipient(name: str, email: str) -> str:
    return formataddr((name, email))


__all__ = [
    "build",
    "deliver",
    "deliver_many",
    "discard_queue",
    "flush_queue",
    "retry_pending",
    "send",
    "send_later",
    "stage_queue",
]
