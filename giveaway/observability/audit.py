"""Count the audit trail's events as they are committed, without touching the services.

Sign-ins, 2FA steps and security changes are already recorded as events
(giveaway.events); a SQLAlchemy session hook hands each committed event's kind
to the metrics, so no domain module imports the metrics library.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from giveaway.events.models import Event
from giveaway.observability.metrics import count_event

_PENDING = "giveaway.observability.events"


def _note(session: Session, flush_context: Any) -> None:
    # after_flush still shows the flushed objects in session.new.
    kinds = [(obj.kind, dict(obj.detail or {})) for obj in session.new if isinstance(obj, Event)]
    if kinds:
        session.info.setdefault(_PENDING, []).extend(kinds)


def _count(session: Session) -> None:
    for kind, detail in session.info.pop(_PENDING, []):
        count_event(kind, detail)


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Once per process: listen on every session."""
    if not event.contains(Session, "after_flush", _note):
        event.listen(Session, "after_flush", _note)
        event.listen(Session, "after_commit", _count)
        event.listen(Session, "after_rollback", _forget)
