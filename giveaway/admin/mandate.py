"""The 2FA mandate: who must turn on two-factor authentication, and reminding them.

MANDATE_2FA says whom it covers: `none` (nobody), `critical` (Owners and
Maintainers of critical projects) or `all` (anyone with a role on any
project). Covered maintainers without 2FA see a banner on every page,
are listed on /admin/compliance and are emailed by `giveaway remind-2fa`
at most once every MANDATE_REMINDER_DAYS days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, contains_eager

from giveaway import dialect, mail
from giveaway.accounts.models import User
from giveaway.admin.models import MandateReminder
from giveaway.projects import maintainers
from giveaway.projects.models import Project, Role
from giveaway.twofactor import status

SCOPES = ("none", "critical", "all")
# dialect.try_lock's key for `giveaway remind-2fa` ("remind2fa"), stable across hosts.
LOCK_KEY = 0x72656D69_6E643266


class MandateSettingError(ValueError):
    """MANDATE_2FA or MANDATE_REMINDER_DAYS cannot be understood."""


def scope() -> str:
    """The configured scope (`none`, `critical` or `all`)."""
    value = str(current_app.config.get("MANDATE_2FA") or "none").strip().lower()
    if value not in SCOPES:
        raise MandateSettingError(
            f"MANDATE_2FA must be one of none, critical, all; not {current_app.config.get('MANDATE_2FA')!r}"
        )
    return value


def reminder_days() -> int:
    raw = current_app.config.get("MANDATE_REMINDER_DAYS", 14)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        days = 0
    if isinstance(raw, bool) or days < 1 or str(raw).strip() != str(days):
        raise MandateSettingError(
            f"MANDATE_REMINDER_DAYS must be a whole number of days, 1 or more; not {raw!r}"
        )
    return days


def check_settings() -> None:
    """Raise MandateSettingError when a mandate setting is unusable (at start-up)."""
    scope()
    reminder_days()


# --- who is covered ------------------------------------------------------------------


def role_condition(mandate: str) -> Any:
    """Roles that bring a maintainer under the mandate (joined with Project)."""
    if mandate == "all":
        return Role.id.is_not(None)
    return maintainers.is_critical_role()


def lacks_2fa() -> Any:
    """SQL: the user (User) has neither TOTP nor a security key."""
    return ~status.has_2fa_sql()


def is_covered_without_2fa(session: Session, user: User) -> bool:
    """True when the mandate covers `user` and they have no 2FA. At most one query."""
    mandate = scope()
    if mandate == "none" or status.has_totp(user):
        return False
    covered = exists().where(
        Role.user_id == user.id,
        Project.id == Role.project_id,
        role_condition(mandate),
    )
    row = session.execute(select(covered, status.has_key_sql(user.id))).one()
    return bool(row[0]) and not bool(row[1])


def banner(session: Session, user: Any) -> dict[str, str] | None:
    """What the mandate banner says to `user` (None: no banner)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not is_covered_without_2fa(session, user):
        return None
    # templates/base.html words the banner whole for each scope, in the page's language.
    return {"scope": scope()}


# --- the compliance list --------------------------------------------------------------


def compliance_scope() -> str:
    """The scope the compliance page lists: the mandate's, or critical when it is off."""
    mandate = scope()
    return "critical" if mandate == "none" else mandate


def compliance_query(mandate: str | None = None) -> Select[Any]:
    """Roles of maintainers without 2FA on projects the mandate covers (Role rows,
    with .project and .user loaded), most important projects first."""
    mandate = mandate or compliance_scope()
    return (
        select(Role)
        .join(Role.project)
        .join(Role.user)
        .where(role_condition(mandate), lacks_2fa())
        .options(contains_eager(Role.project), contains_eager(Role.user))
        .order_by(
            Project.critical_rank.is_(None),
            Project.critical_rank,
            Project.name,
            User.username,
        )
    )


COMPLIANCE_HEADER = ["project", "maintainer", "role", "email", "critical_since", "last_reminded_at"]


def compliance_rows(session: Session, roles: list[Role]) -> list[list[object]]:
    reminded = last_reminders(session, [r.user_id for r in roles])
    return [
        [
            r.project.display_name,
            r.user.username,
            r.role_name.value,
            r.user.email,
            r.project.critical_since,
            reminded.get(r.user_id),
        ]
        for r in roles
    ]


def last_reminders(session: Session, user_ids: list[int]) -> dict[int, datetime]:
    found: dict[int, datetime] = {}
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(MandateReminder.user_id, MandateReminder.last_reminded_at).where(
                MandateReminder.user_id.in_(chunk)
            )
        )
        found.update({user_id: at for user_id, at in rows})
    return found


# --- reminders ------------------------------------------------------------------------------


@dataclass
class ReminderSummary:
    mandate: str
    locked_out: bool = False
    uncovered: int = 0
    sent: int = 0
    recently_reminded: int = 0
    days: int = 0
    usernames: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.mandate == "none":
            return "remind-2fa: MANDATE_2FA is none; nobody to remind."
        if self.locked_out:
            return "remind-2fa: another run holds the lock; nothing to do here."
        return (
            f"remind-2fa: {self.sent} reminders sent; {self.uncovered} maintainers covered by "
            f"the {self.mandate} mandate lack 2FA, {self.recently_reminded} of them reminded "
            f"in the last {self.days} days."
        )


def remind(session: Session, now: datetime, setup_link: str) -> ReminderSummary:
    """Email every covered maintainer without 2FA not reminded in the last interval.

    Runs in the caller's transaction (the caller commits; mail goes after the commit).
    """
    mandate = scope()
    days = reminder_days()
    summary = ReminderSummary(mandate=mandate, days=days)
    if mandate == "none":
        return summary
    if not dialect.try_lock(session, LOCK_KEY):
        summary.locked_out = True
        return summary
    rows = session.execute(
        select(User, Project.display_name, Role.role_name)
        .join(Role, Role.user_id == User.id)
        .join(Project, Project.id == Role.project_id)
        .where(role_condition(mandate), lacks_2fa())
        .order_by(User.id, Project.name)
    ).all()
    projects: dict[int, list[str]] = {}
    users: dict[int, User] = {}
    for user, project, _role in rows:
        users[user.id] = user
        projects.setdefault(user.id, []).append(project)
    summary.uncovered = len(users)
    reminded = last_reminders(session, list(users))
    threshold = now - timedelta(days=days)
    for user_id, user in users.items():
        last = reminded.get(user_id)
        if last is not None and last > threshold:
            summary.recently_reminded += 1
            continue
        record = session.get(MandateReminder, user_id)
        if record is None:
            session.add(MandateReminder(user_id=user_id, last_reminded_at=now, count=1))
        else:
            record.last_reminded_at = now
            record.count = (record.count or 0) + 1
        mail.send(
            mail.recipient(user.username, user.email),
            "mandate_reminder",
            user=user,
            projects=projects[user_id],
            mandate=mandate,
            setup_link=setup_link,
            interval_days=days,
        )
        summary.sent += 1
        summary.usernames.append(user.username)
    return summary
