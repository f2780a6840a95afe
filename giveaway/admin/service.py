"""Queries behind the admin pages: users and the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from giveaway.accounts.models import User
from giveaway.events.models import Event
from giveaway.inputs import ascii_digits, caseless
from giveaway.projects.models import Project, Role


def search_users(query: str) -> Select[Any]:
    """Users whose username or email contains `query` (any case), exact matches first."""
    stmt = select(User)
    q = query.strip()
    if q:
        stmt = stmt.where(
            or_(
                func.lower(User.username).like(_contains(q.lower()), escape="\\"),
                # The stored key, folded in Python: SQLite's lower() misses "Ü".
                User.email_key.like(_contains(caseless(q)), escape="\\"),
            )
        )
    return stmt.order_by(func.lower(User.username))


def _contains(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def user_roles(session: Session, user: User) -> list[tuple[Project, Role]]:
    rows = session.execute(
        select(Project, Role)
        .join(Role, Role.project_id == Project.id)
        .where(Role.user_id == user.id)
        .order_by(Project.critical_since.is_(None), Project.name)
    )
    return [(p, r) for p, r in rows]


@dataclass
class EventFilter:
    username: str = ""
    kind: str = ""
    since: date | None = None
    until: date | None = None
    errors: list[str] | None = None

    @classmethod
    def from_args(cls, args: Any) -> EventFilter:
        errors = []
        values: dict[str, Any] = {
            "username": (args.get("user") or "").strip()[:100],
            "kind": (args.get("kind") or "").strip()[:64],
        }
        for name in ("since", "until"):
            raw = ascii_digits((args.get(name) or "").strip()) or ""
            if raw:
                try:
                    values[name] = date.fromisoformat(raw)
                except ValueError:
                    errors.append(f"“{raw}” is not a date: use YYYY-MM-DD.")
        flt = cls(**values, errors=errors)
        if flt.since and flt.until and flt.since > flt.until:
            flt.errors = [*errors, "The start date is after the end date."]
        return flt


def events_query(flt: EventFilter) -> Select[Any]:
    actor = aliased(User)
    subject = aliased(User)
    stmt = (
        select(Event)
        .outerjoin(subject, Event.user_id == subject.id)
        .outerjoin(actor, Event.actor_id == actor.id)
        .order_by(Event.created_at.desc(), Event.id.desc())
    )
    if flt.username:
        name = flt.username.lower()
        stmt = stmt.where(
            or_(func.lower(subject.username) == name, func.lower(actor.username) == name)
        )
    if flt.kind:
        stmt = stmt.where(Event.kind == flt.kind)
    if flt.since:
        stmt = stmt.where(Event.created_at >= datetime.combine(flt.since, time.min, UTC))
    if flt.until and flt.until < date.max:  # the day after 9999-12-31 does not exist
        end = datetime.combine(flt.until, time.min, UTC) + timedelta(days=1)
        stmt = stmt.where(Event.created_at < end)
    return stmt


def event_kinds(session: Session) -> list[str]:
    return list(session.scalars(select(Event.kind).distinct().order_by(Event.kind)))
