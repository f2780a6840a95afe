"""Record events. Never put a secret or the shipping region in `detail`."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy.orm import Session

from giveaway.accounts.models import User
from giveaway.events.models import Event


def request_ip() -> str | None:
    """The address an event is recorded with: the request's, or none for a command."""
    return request.remote_addr if has_request_context() else None


def record(
    session: Session,
    kind: str,
    user: User | None = None,
    *,
    actor: User | None = None,
    **detail: Any,
) -> Event:
    event = Event(
        kind=kind,
        user_id=user.id if user is not None else None,
        actor_id=actor.id if actor is not None else None,
        ip_address=request_ip(),
        detail=detail,
    )
    session.add(event)
    return event
