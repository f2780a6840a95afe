"""Critical maintainers: the Owners and Maintainers of critical projects.

The one definition the eligibility page, the dashboard and the 2FA mandate
share: a role counts when it is Owner or Maintainer and its project was ever
designated critical (designation is never taken back). Written once as SQL
(`is_critical_role`, `critical_maintainer_ids`) and once in Python
(`counts_as_critical`); tests/projects/test_maintainers.py holds them to the
same answer on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, select
from sqlalchemy.orm import Session

from giveaway import dialect
from giveaway.accounts.models import User
from giveaway.projects.models import Project, Role, RoleName

# The roles that make someone a maintainer of a project (and so of a critical one).
MAINTAINING_ROLES = (RoleName.OWNER, RoleName.MAINTAINER)


def is_critical_role() -> ColumnElement[bool]:
    """SQL over Role joined with its Project: the role makes its user a critical maintainer."""
    return and_(Role.role_name.in_(MAINTAINING_ROLES), Project.critical_since.is_not(None))


def counts_as_critical(role: Role) -> bool:
    """`is_critical_role` on a loaded role (its project is loaded with it)."""
    return role.role_name in MAINTAINING_ROLES and role.project.critical_since is not None


def critical_maintainer_ids() -> Select[Any]:
    """SELECT of the ids of critical maintainers, each once."""
    return (
        select(Role.user_id)
        .join(Project, Project.id == Role.project_id)
        .where(is_critical_role())
        .distinct()
    )


def is_critical_maintainer(user_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """SQL: the user whose id is the column `user_id` (User.id, say) is a critical maintainer."""
    return user_id.in_(critical_maintainer_ids())


def critical_projects_of(session: Session, user_id: int) -> list[str]:
    """Display names of the critical projects `user_id` is an Owner or Maintainer of."""
    return list(session.scalar(select(critical_projects_sql(user_id))) or [])


def critical_projects_sql(user_id: Any = None) -> ColumnElement[Any]:
    """`critical_projects_of` as SQL over User (or the given id or column): a JSON list
    of the display names, ordered by project name, that queries load with the user."""
    owner = User.id if user_id is None else user_id
    roles = (
        select(Project.display_name, Project.name)
        .join(Role, Role.project_id == Project.id)
        .where(Role.user_id == owner, is_critical_role())
        .order_by(Project.name)
        # From the query that reads the user (a FROM subquery does not correlate by itself).
        .correlate(User)
        .subquery("critical_roles")
    )
    return select(dialect.ordered_json_list(roles.c.display_name, roles.c.name)).scalar_subquery()
