"""Import maintainers' roles from CSV `project,username,email,role`.

The file is checked whole before anything is written: a row that is malformed
or contradicts another row of the file means nothing changes.

Roles come from the index, and the index's address is what proves who a
maintainer is. A row's role goes to the account named by the row only when
that account's address is the row's and the maintainer has verified it, or
the account is waiting for its activation mail at that address. An account
someone registered here themselves and never verified proves nothing: the
import takes it over for the index (its password and sessions are voided and
the activation goes to the index's address), so a stranger who registers a
maintainer's username, with any address, neither blocks the import nor gets
the role. An account verified at another address is a person the portal will
not take over on its own: that row is reported and skipped, and the rest of
the file is imported.

With `full=True` the file states every role of each project it names: roles of
those projects that the file leaves out are removed (each removal is an
event), and a row `project,,,` states that a project has no roles left.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.accounts import service as accounts
from giveaway.accounts.models import User
from giveaway.badrows import BadRow, BadRows
from giveaway.events import service as events
from giveaway.projects import names
from giveaway.projects.models import Project, Role, RoleName

HEADER = ["project", "username", "email", "role"]
ROLE_NAMES = {r.value.lower(): r for r in RoleName}
# Every bad row is counted; this many are listed.
MAX_LISTED = 50

# One shape for a bad row, shared with the other importers.
RowError = BadRow


@dataclass
class ImportReport:
    # Rows that make the file unusable: nothing is written.
    bad: BadRows = field(default_factory=lambda: BadRows(MAX_LISTED))
    # Rows that conflict with an account here: skipped, the rest is imported.
    skipped: BadRows = field(default_factory=lambda: BadRows(MAX_LISTED))
    rows: int = 0
    projects_created: int = 0
    users_created: int = 0
    roles_created: int = 0
    roles_updated: int = 0
    roles_unchanged: int = 0
    roles_removed: int = 0
    new_users: list[User] = field(default_factory=list)
    # Unverified self-registered accounts taken over for the index's maintainer.
    reclaimed: list[User] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad

    @property
    def errors(self) -> list[BadRow]:
        """Every listed problem, bad or skipped, in line order."""
        return sorted([*self.bad, *self.skipped], key=lambda e: e.line or 0)

    @property
    def activations(self) -> list[User]:
        """The accounts whose activation link goes to the index's address."""
        return [*self.new_users, *self.reclaimed]

    def summary(self) -> str:
        text = (
            f"{self.rows} rows: {self.projects_created} projects created, "
            f"{self.users_created} accounts created (activation emailed), "
            f"{self.roles_created} roles added, {self.roles_updated} changed, "
            f"{self.roles_unchanged} unchanged"
        )
        extra = [
            (len(self.reclaimed), "unverified registrations taken over (activation emailed)"),
            (self.roles_removed, "removed"),
            (self.skipped.count, "skipped"),
        ]
        return text + "".join(f", {n} {what}" for n, what in extra if n)


@dataclass
class _Row:
    line: int
    project: str
    username: str
    email: str
    role: RoleName | None  # None: a `project,,,` row (the project has no roles)


def _parse(lines: Iterable[str], report: ImportReport, *, full: bool) -> list[_Row]:
    reader = csv.reader(lines)
    rows: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    try:
        for record in reader:
            _parse_record(reader.line_num, record, rows, seen, report, full=full)
    except csv.Error as exc:
        report.bad.add(reader.line_num, f"the file is not valid CSV: {exc}")
    return rows


def _parse_record(
    line: int,
    record: list[str],
    rows: list[_Row],
    seen: dict[tuple[str, str], int],
    report: ImportReport,
    *,
    full: bool,
) -> None:
    bad = report.bad
    if not record or all(not cell.strip() for cell in record):
        return
    cells = [cell.strip() for cell in record]
    if [c.lower() for c in cells] == HEADER and not rows and not bad:
        return  # the header line
    report.rows += 1
    if len(cells) != 4:
        bad.add(line, f"expected 4 columns (project,username,email,role), found {len(cells)}")
        return
    project, username, email, role = cells
    problems = []
    name_problem = names.problem(project)
    if name_problem:
        problems.append(name_problem)
    if project and not (username or email or role):
        if problems:
            bad.add(line, "; ".join(problems))
        elif not full:
            bad.add(
                line,
                "a row with only a project name says the project has no roles left, "
                "which only a full import (--full) may say",
            )
        else:
            rows.append(_Row(line, project, "", "", None))
        return
    if not accounts.USERNAME_RE.match(username):
        problems.append(f"{username!r} is not a valid username")
    try:
        email = accounts.normalize_email(email)
    except ValueError:
        problems.append(f"{email!r} is not a valid email address")
    role_name = ROLE_NAMES.get(role.lower())
    if role_name is None:
        problems.append(f"the role must be Owner or Maintainer, not {role!r}")
    if problems:
        bad.add(line, "; ".join(problems))
        return
    key = (names.normalize(project), username.lower())
    if key in seen:
        bad.add(line, f"{username} on {project} is already given on line {seen[key]}")
        return
    seen[key] = line
    rows.append(_Row(line, project, username, email, role_name))


def _check_file(rows: list[_Row], report: ImportReport) -> None:
    """A username has one address in the file, and an address one username."""
    email_owner: dict[str, str] = {}
    first_email: dict[str, tuple[str, int]] = {}
    for row in rows:
        if row.role is None:
            continue
        uname, email = row.username.lower(), row.email.lower()
        first = first_email.setdefault(uname, (email, row.line))
        if first[0] != email:
            report.bad.add(
                row.line,
                f"{row.username} is given the email {first[0]} on line {first[1]} "
                f"and {row.email} here",
            )
            continue
        other = email_owner.setdefault(email, uname)
        if other != uname:
            report.bad.add(row.line, f"{row.email} is given to both {other} and {row.username}")


def _unproven(user: User) -> bool:
    """Registered here by someone who never proved an address: nothing to keep.

    Such an account cannot have 2FA or a code (both need a verified address);
    the checks say so again rather than rely on it.
    """
    return (
        user.email_verified_at is None
        and user.password_hash is not None
        and not user.is_admin
        and user.first_2fa_enabled_at is None
        and user.totp_secret is None
    )


def _held_for(user: User, email: str) -> bool:
    """The account is the index maintainer's: verified at `email`, or awaiting activation there."""
    return user.email.lower() == email and (
        user.email_verified_at is not None or user.password_hash is None
    )


def _reclaim(session: Session, user: User, username: str, email: str) -> None:
    """Take an unproven registration over for the index's maintainer.

    The password and every session end; the activation link then goes to the
    index's address, so only that address's owner can get in.
    """
    before = (user.username, user.email)
    user.username = username
    user.email = email
    user.password_hash = None
    user.password_changed_at = None
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    events.record(
        session,
        "account:reclaimed",
        user,
        via="import-roles",
        registered_username=before[0],
        registered_email=before[1],
    )


def _account_for(
    session: Session, row: _Row, report: ImportReport, now: datetime
) -> tuple[User | None, str | None]:
    """The account the row's role goes to (made or taken over if need be), or why not."""
    email = row.email.lower()
    named = accounts.by_username(session, row.username)
    holder = accounts.by_email(session, row.email)
    if named is not None:
        if _held_for(named, email):
            return named, None
        if not _unproven(named):
            return None, f"{row.username} has the email {named.email}, not {row.email}"
        if holder is not None and holder is not named:
            return None, (
                f"{row.username} is an unverified registration and {row.email} belongs "
                f"to another account ({holder.username})"
            )
        _reclaim(session, named, row.username, row.email)
        report.reclaimed.append(named)
        return named, None
    if holder is not None:
        if not _unproven(holder):
            return None, f"{row.email} belongs to another account ({holder.username})"
        _reclaim(session, holder, row.username, row.email)
        report.reclaimed.append(holder)
        return holder, None
    user = User(username=row.username, email=row.email, password_hash=None, created_at=now)
    session.add(user)
    session.flush()
    events.record(session, "account:created", user, via="import-roles")
    report.users_created += 1
    report.new_users.append(user)
    return user, None


def import_roles(
    session: Session, text: str | Iterable[str], *, full: bool = False
) -> ImportReport:
    """Check every row, then create or update projects, accounts and roles.

    `full`: the file lists every role of each project it names; the others go.
    """
    report = ImportReport()
    lines = io.StringIO(text) if isinstance(text, str) else text
    rows = _parse(lines, report, full=full)
    _check_file(rows, report)
    if report.bad:
        return report

    now = clock.now()
    projects: dict[str, Project | None] = {}
    for row in rows:
        name = names.normalize(row.project)
        if name in projects and (projects[name] is not None or row.role is None):
            continue
        project = projects.get(name) or session.scalar(select(Project).where(Project.name == name))
        if project is None and row.role is not None:
            project = Project(name=name, display_name=row.project, created_at=now)
            session.add(project)
            report.projects_created += 1
        projects[name] = project
    session.flush()

    users: dict[str, User | None] = {}
    why_not: dict[str, str] = {}
    kept: dict[str, set[int]] = {name: set() for name in projects}
    for row in rows:
        if row.role is None:
            continue
        uname = row.username.lower()
        if uname not in users:
            users[uname], reason = _account_for(session, row, report, now)
            if reason:
                why_not[uname] = reason
        user = users[uname]
        if user is None:
            report.skipped.add(row.line, why_not[uname])
            continue
        name = names.normalize(row.project)
        project = projects[name]
        assert project is not None
        kept[name].add(user.id)
        role = session.scalar(
            select(Role).where(Role.user_id == user.id, Role.project_id == project.id)
        )
        if role is None:
            session.add(Role(user_id=user.id, project_id=project.id, role_name=row.role))
            report.roles_created += 1
        elif role.role_name != row.role:
            role.role_name = row.role
            report.roles_updated += 1
        else:
            report.roles_unchanged += 1
    session.flush()
    if full:
        _remove_unlisted(session, projects, kept, report)
    return report


def _remove_unlisted(
    session: Session,
    projects: dict[str, Project | None],
    kept: dict[str, set[int]],
    report: ImportReport,
) -> None:
    """Remove the roles of the named projects that the file did not give; record each."""
    for name, project in projects.items():
        if project is None:
            continue
        gone = session.scalars(
            select(Role).where(Role.project_id == project.id, Role.user_id.not_in(kept[name]))
        ).all()
        for role in gone:
            events.record(
                session,
                "role:removed",
                role.user,
                via="import-roles",
                project=name,
                role=role.role_name.value,
            )
            session.delete(role)
            report.roles_removed += 1
    session.flush()


def count_roles(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Role)) or 0
