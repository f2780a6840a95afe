"""Import maintainers' roles from CSV `project,username,email,role`.

Validated whole before anything is written: one bad row and nothing changes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.accounts import service as accounts
from giveaway.accounts.models import User
from giveaway.events import service as events
from giveaway.projects import names
from giveaway.projects.models import Project, Role, RoleName

HEADER = ["project", "username", "email", "role"]
ROLE_NAMES = {r.value.lower(): r for r in RoleName}


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    projects_created: int = 0
    users_created: int = 0
    roles_created: int = 0
    roles_updated: int = 0
    roles_unchanged: int = 0
    new_users: list[User] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.projects_created} projects created, "
            f"{self.users_created} accounts created (activation emailed), "
            f"{self.roles_created} roles added, {self.roles_updated} changed, "
            f"{self.roles_unchanged} unchanged"
        )


@dataclass
class _Row:
    line: int
    project: str
    username: str
    email: str
    role: RoleName


def _parse(lines: Iterable[str], report: ImportReport) -> list[_Row]:
    reader = csv.reader(lines)
    rows: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    for record in reader:
        line = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue
        cells = [cell.strip() for cell in record]
        if [c.lower() for c in cells] == HEADER and not rows and not report.errors:
            continue  # the header line
        report.rows += 1
        if len(cells) != 4:
            report.errors.append(
                RowError(
                    line, f"expected 4 columns (project,username,email,role), found {len(cells)}"
                )
            )
            continue
        project, username, email, role = cells
        problems = []
        if not project:
            problems.append("the project name is empty")
        elif not names.is_valid(project) or len(project) > 200:
            problems.append(f"{project!r} is not a valid project name")
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
            report.errors.append(RowError(line, "; ".join(problems)))
            continue
        key = (names.normalize(project), username.lower())
        if key in seen:
            report.errors.append(
                RowError(line, f"{username} on {project} is already given on line {seen[key]}")
            )
            continue
        seen[key] = line
        assert role_name is not None
        rows.append(_Row(line, project, username, email, role_name))
    return rows


def import_roles(session: Session, text: str | Iterable[str]) -> ImportReport:
    """Validate every row, then create or update projects, accounts and roles."""
    report = ImportReport()
    lines = io.StringIO(text) if isinstance(text, str) else text
    try:
        rows = _parse(lines, report)
    except csv.Error as exc:
        report.errors.append(RowError(0, f"the file is not valid CSV: {exc}"))
        return report
    if report.errors:
        return report

    # Usernames and emails must agree with existing accounts and with each other.
    users: dict[str, User] = {}
    email_owner: dict[str, str] = {}
    # A new account's email, as first given (with its line): later rows must agree.
    new_emails: dict[str, tuple[str, int]] = {}
    for row in rows:
        uname = row.username.lower()
        email = row.email.lower()
        user = users.get(uname) or accounts.by_username(session, row.username)
        if user is not None:
            users[uname] = user
            if user.email.lower() != email:
                report.errors.append(
                    RowError(
                        row.line, f"{row.username} has the email {user.email}, not {row.email}"
                    )
                )
                continue
        else:
            first = new_emails.setdefault(uname, (email, row.line))
            if first[0] != email:
                report.errors.append(
                    RowError(
                        row.line,
                        f"{row.username} is given the email {first[0]} on line {first[1]} "
                        f"and {row.email} here",
                    )
                )
                continue
        other = email_owner.get(email)
        if other is not None and other != uname:
            report.errors.append(
                RowError(row.line, f"{row.email} is given to both {other} and {row.username}")
            )
            continue
        email_owner[email] = uname
        if user is None:
            existing = accounts.by_email(session, row.email)
            if existing is not None:
                report.errors.append(
                    RowError(
                        row.line, f"{row.email} belongs to another account ({existing.username})"
                    )
                )
    if report.errors:
        return report

    now = clock.now()
    projects: dict[str, Project] = {}
    for row in rows:
        name = names.normalize(row.project)
        project = projects.get(name) or session.scalar(select(Project).where(Project.name == name))
        if project is None:
            project = Project(name=name, display_name=row.project, created_at=now)
            session.add(project)
            report.projects_created += 1
        projects[name] = project
        user = users.get(row.username.lower())
        if user is None:
            user = User(username=row.username, email=row.email, password_hash=None, created_at=now)
            session.add(user)
            users[row.username.lower()] = user
            report.users_created += 1
            report.new_users.append(user)
    session.flush()
    for user in report.new_users:
        events.record(session, "account:created", user, via="import-roles")

    for row in rows:
        project = projects[names.normalize(row.project)]
        user = users[row.username.lower()]
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
    return report


def count_roles(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Role)) or 0
