"""The outbox: mail written in the transaction of the work it reports, sent after it commits.

`send` adds the message to the outbox in the current unit of work's session;
`send_later` adds it when that session commits (rendered just before, in the
same transaction). SQLAlchemy's session events are the seam: the database
layer knows nothing of mail. After the commit the messages go out (on the
courier's thread for a web request in background mode, at once otherwise);
after a rollback they are forgotten, as their rows are.

Delivery is at least once. A sender leases the messages it takes
(`sending_since`), renews the lease while it works through them, and marks
each one sent the moment the mail server accepts it, so no other run takes a
message whose sender is alive. A message is sent twice only when its sender
stops (or its database fails) between the server's acceptance and that mark,
or stalls without renewing for longer than LEASE: another run sends it again
once the lease has run out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import ColumnElement, Connection, and_, event, or_, select, update
from sqlalchemy.orm import Session

from giveaway import clock, db
from giveaway.mail.building import build
from giveaway.mail.models import OutboxMessage

log = logging.getLogger(__name__)

# A lease older than this belongs to a sender that died or stalled: the
# messages it held are due again. Renewed every LEASE_RENEW while sending, and
# sending one message is bounded by the transport's timeouts (seconds), so a
# live sender never lets it run out.
LEASE = timedelta(minutes=10)
LEASE_RENEW = timedelta(minutes=1)
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360)]
# Messages leased by one statement, at most.
BATCH = 50

# Where a session keeps the mail of its unit of work: outbox ids (`send`) and
# callables that render a row (`send_later`).
_QUEUE = "giveaway.mail_queue"


def _queue(session: Session) -> list[object]:
    return session.info.setdefault(_QUEUE, [])


def _session() -> Session:
    return db.session()


def outbox_row(to: str, template: str, message: Message, user: object) -> OutboxMessage:
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
    return send_in(_session(), to, template, **context)


def send_in(session: Session, to: str, template: str, **context: object) -> Message:
    """`send` in the given session's work (a job's own session, see `after_commit`)."""
    message = build(to, template, **context)
    row = outbox_row(to, template, message, context.get("user"))
    session.add(row)
    session.flush()
    _queue(session).append(row.id)
    return message


def send_later(to: str, template: str, context: Callable[[], dict[str, object]]) -> None:
    """Like `send`, but rendered and put in the outbox when the work commits.

    For hot paths (the claim): the service's own statements stay free of
    rendering, and the message's outbox row joins the same transaction just
    before it commits, so it costs no transaction of its own. Once in the outbox
    the message is as safe as any other (kept and retried while the mail server
    is down).
    """

    def render() -> OutboxMessage:
        values = context()
        return outbox_row(to, template, build(to, template, **values), values.get("user"))

    session = _session()
    if not session.in_transaction():
        # A rollback without a transaction is no event: begin one, so that
        # rolling this work back forgets its mail too.
        session.connection()
    _queue(session).append(render)


class _Job:
    """Work that writes mail in a transaction of its own, once the current one commits."""

    def __init__(self, work: Callable[[Session], object]) -> None:
        self.work = work


def after_commit(work: Callable[[Session], object]) -> None:
    """Run `work(session)` in a transaction of its own once the current work commits.

    For hot paths (the claim's receipt): the request commits without rendering
    anything; `work` renders its mail (with `send_in`) and puts it in the outbox
    afterwards: on the courier's thread, after the response, for a web request
    in background delivery; at once, on the same connection, otherwise. If the
    process stops before `work` has run, it never runs: the caller keeps a mark
    to notice that (the claim's `receipt_queued_at`, see requeue_lost_receipts).
    Rolled back with the current work, like any queued mail.
    """
    session = _session()
    if not session.in_transaction():
        session.connection()
    _queue(session).append(_Job(work))


def run_after_commit(session: Session, *works: Callable[[Session], object]) -> None:
    """Run `after_commit` works in `session` and commit them together (their mail
    then goes out in one batch). If one fails, each is run again on its own, so
    one failing work costs only itself."""
    try:
        for work in works:
            work(session)
        session.commit()
        return
    except Exception:  # noqa: BLE001 - the committed work stands; its owner recovers
        session.rollback()
        if len(works) == 1:
            log.exception("could not write mail after commit; it is left to its recovery")
            return
    for work in works:
        run_after_commit(session, work)


def discard_queue() -> None:
    """Forget the mail queued in the current session (its work is abandoned)."""
    session = g.get("db_session")
    if session is not None:
        session.info.pop(_QUEUE, None)


@event.listens_for(Session, "before_commit")
def _stage(session: Session) -> None:
    """Render the `send_later` mail into the transaction about to commit.

    A message that cannot be rendered is logged and left out: the work itself
    still commits (a claim's lost receipt is put back by the expiry job).
    """
    pending = session.info.get(_QUEUE)
    if not pending:
        return
    for index, item in enumerate(pending):
        if callable(item) and not isinstance(item, _Job):
            try:
                row = item()
            except Exception:  # noqa: BLE001 - the work stands regardless
                log.exception("could not render a mail; it is left out")
                pending[index] = None
                continue
            session.add(row)
            pending[index] = row


@event.listens_for(Session, "after_commit")
def _deliver_committed(session: Session) -> None:
    """The work committed: send its mail (the ids are known since the flush)."""
    pending = session.info.pop(_QUEUE, None)
    if not pending:
        return
    ids = [
        item.id if isinstance(item, OutboxMessage) else item
        for item in pending
        if isinstance(item, OutboxMessage | int)
    ]
    works = [item.work for item in pending if isinstance(item, _Job)]
    if not ids and not works:
        return
    if current_app.config.get("MAIL_DELIVERY") == "background" and has_request_context():
        courier = current_app.extensions["mail.courier"]
        if ids:
            courier.submit(ids)
        for work in works:
            courier.submit_work(work)
        return
    # The committed session cannot run statements inside this event; a session
    # on its connection can (the transaction just ended, the connection is
    # free), which spares checking out a second connection per request. A
    # failure here never undoes the committed work.
    bind = session.bind if isinstance(session.bind, Connection) else session.get_bind()
    if ids:
        try:
            with Session(bind=bind, expire_on_commit=False) as own:
                deliver_many(own, ids)
        except Exception:  # noqa: BLE001 - the messages stay in the outbox for send-mail
            log.exception("could not deliver mail after commit; send-mail will retry")
    for work in works:
        with Session(bind=bind, expire_on_commit=False) as own:
            run_after_commit(own, work)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_QUEUE, None)


def deliver(session: Session, ident: int) -> bool:
    """Lease, send and mark one outbox message; False when not sent (now)."""
    return deliver_many(session, [ident]) == [ident]


def deliver_many(session: Session, ids: list[int]) -> list[int]:
    """Lease, send and mark outbox messages; returns the ids that went out.

    In batches of BATCH: one UPDATE leases every message still due (so no other
    run takes it), then each is sent and marked sent at once, its own commit.
    The lease of the rest is renewed as it ages, and only messages still held
    under this run's lease are sent. A message whose sending failed is put back
    for a retry, or given up after the last one.
    """
    if len(ids) > BATCH:
        return [
            ident
            for start in range(0, len(ids), BATCH)
            for ident in deliver_many(session, ids[start : start + BATCH])
        ]
    if not ids:
        return []
    lease = clock.now()
    leased = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), *_due(lease))
        .values(sending_since=lease)
        .returning(
            OutboxMessage.id, OutboxMessage.body, OutboxMessage.recipient, OutboxMessage.attempts
        )
    ).all()
    session.commit()
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    rows = sorted((row for row in leased if row.body is not None), key=lambda r: r.id)
    held = {row.id for row in rows}
    sent: list[int] = []
    for row in rows:
        if clock.now() - lease >= LEASE_RENEW:
            lease, held = _renew(session, held, lease)
        if row.id not in held:
            continue  # another run took it over: this one must not send it
        try:
            # The stored bytes go out as they are: no parsing on the hot path.
            recipients = [address for _, address in getaddresses([row.recipient]) if address]
            transport().send_raw(sender, recipients, row.body)
        except Exception as exc:  # noqa: BLE001 - any failure: keep it for a retry
            _failed(session, row, exc, clock.now())
            held.discard(row.id)
            continue
        # Accepted: marked at once. Only a failure before this commit can send it twice.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(sent_at=clock.now(), sending_since=None, body=None, last_error=None)
        )
        session.commit()
        held.discard(row.id)
        sent.append(row.id)
    return sent


def _renew(session: Session, held: set[int], lease: datetime) -> tuple[datetime, set[int]]:
    """Extend this run's lease on the messages it still holds; returns the new lease and ids."""
    renewed = clock.now()
    still = session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(held),
            OutboxMessage.sending_since == lease,
            OutboxMessage.sent_at.is_(None),
        )
        .values(sending_since=renewed)
        .returning(OutboxMessage.id)
    ).all()
    session.commit()
    return renewed, set(still)


def transport() -> Any:
    return current_app.extensions["mail.transport"]


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


def waiting() -> ColumnElement[bool]:
    """Not sent yet and not given up: still to go out (the operators' 'waiting' too)."""
    return and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Waiting, its retry due, and not leased by a live sender."""
    return (
        waiting(),
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        or_(
            OutboxMessage.sending_since.is_(None),
            OutboxMessage.sending_since < now - LEASE,
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
