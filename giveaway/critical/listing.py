"""Lists for the admin pages: critical projects (search, sort, pages) and imports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from giveaway.critical.models import DownloadImport
from giveaway.projects import names
from giveaway.projects.models import Project, Role

PER_PAGE = 50

# Each sort key with the order a reader expects first.
SORTS: dict[str, tuple[Any, bool]] = {
    "rank": (Project.critical_rank, False),
    "downloads": (Project.critical_downloads, True),
    "since": (Project.critical_since, True),
    "name": (Project.name, False),
}


class BadQuery(ValueError):
    """A listing parameter that makes no sense; the message says which."""


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)


def parse_page(value: str | None) -> int:
    if value in (None, ""):
        return 1
    try:
        page = int(value)
    except ValueError:
        raise BadQuery(f"page must be a whole number, not {value[:20]!r}") from None
    if page < 1:
        raise BadQuery("page must be 1 or more")
    return page


def parse_sort(sort: str | None, order: str | None) -> tuple[str, bool]:
    """(key, descending) from the query string; defaults to best rank first."""
    key = sort or "rank"
    if key not in SORTS:
        raise BadQuery(f"sort must be one of {', '.join(SORTS)}")
    if order in (None, ""):
        return key, SORTS[key][1]
    if order not in ("asc", "desc"):
        raise BadQuery("order must be asc or desc")
    return key, order == "desc"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class CriticalRow:
    id: int
    name: str
    display_name: str
    rank: int | None
    downloads: int | None
    since: Any
    maintainers: int


def critical_page(
    session: Session,
    *,
    query: str = "",
    sort: str = "rank",
    descending: bool = False,
    page: int = 1,
) -> Page:
    where = [Project.critical_since.is_not(None)]
    needle = names.normalize(query.strip()) if query.strip() else ""
    if needle:
        where.append(Project.name.like(f"%{_like_escape(needle)}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(Project).where(*where)) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page, pages)
    column = SORTS[sort][0]
    ordering = column.desc() if descending else column.asc()
    maintainers = (
        select(func.count())
        .select_from(Role)
        .where(Role.project_id == Project.id)
        .correlate(Project)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Project.id,
            Project.name,
            Project.display_name,
            Project.critical_rank,
            Project.critical_downloads,
            Project.critical_since,
            maintainers,
        )
        .where(*where)
        .order_by(ordering.nulls_last(), Project.name)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return Page([CriticalRow(*row) for row in rows], page, PER_PAGE, total)


def imports_page(session: Session, *, page: int = 1) -> Page:
    total = session.scalar(select(func.count()).select_from(DownloadImport)) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(page, pages)
    items = session.scalars(
        select(DownloadImport)
        .order_by(DownloadImport.imported_at.desc(), DownloadImport.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return Page(list(items), page, PER_PAGE, total)
