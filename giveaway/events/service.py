"""Record events. Never put a secret or the shipping region in `detail`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy.orm import Session

from giveaway.events.models import Event

if TYPE_CHECKING:  # events sit below accounts: every area records them
    from giveaway.accounts.models import User


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
