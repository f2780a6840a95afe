"""Which projects are critical: the top percent of the index by downloads in a window.

The designation is sticky: once a project is critical it stays critical, and
the rank and downloads that first made it so are kept.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

from babel.dates import format_skeleton
from flask import current_app
from flask_babel import LazyString, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import Result, Select, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from giveaway import clock, dialect, mail
from giveaway.accounts.models import User
from giveaway.critical.models import (
    CriticalDesignation,
    CriticalNotice,
    DownloadPeriod,
)
from giveaway.critical.periods import Window, window_for
from giveaway.events import service as events
from giveaway.links import external_url
from giveaway.projects import maintainers
from giveaway.projects.models import Project, Role

_NUMBER_WORDS = dict(
    enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
)


def _english() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "en"


def _count_words(n: int) -> str:
    """A small count as English has always said it ("six"); digits in other locales."""
    if _english():
        return _NUMBER_WORDS.get(n, str(n))
    return str(format_decimal(n))


def months_words(n: int) -> str:
    """ "six months" (English), "6 Monate"…: in the locale speaking now."""
    return ngettext("%(words)s month", "%(words)s months", n, words=_count_words(n))


def month_words(day: date) -> str:
    """ "April 2026": the month and year as the locale writes them ("abril de 2026",
    "2026年4月"), from CLDR's month-and-year form."""
    return str(format_skeleton("yMMMM", day, locale=get_locale() or "en"))


def _number(n: int) -> str:
    return str(format_decimal(n))


# SQLite accepts 32,766 bound values a statement; stay well below.
ID_CHUNK = 5_000


def cutoff_rank(index_size: int, percent: float) -> int:
    """How many projects the top `percent` of an index of `index_size` projects is (rounded up)."""
    if index_size <= 0:
        return 0
    return math.ceil(Fraction(str(percent)) * index_size / 100)


def window_periods(session: Session, window: Window) -> list[DownloadPeriod]:
    """The imported periods inside the window.

    A day inside a month that was imported whole is left out, so that the
    same downloads are never counted twice.
    """
    periods = session.scalars(
        select(DownloadPeriod)
        .where(DownloadPeriod.starts_on >= window.start, DownloadPeriod.ends_on < window.end)
        .order_by(DownloadPeriod.starts_on, DownloadPeriod.period)
    ).all()
    months = {(p.starts_on.year, p.starts_on.month) for p in periods if p.is_month}
    return [p for p in periods if p.is_month or (p.starts_on.year, p.starts_on.month) not in months]


_RANKED = text(
    "SELECT project_id, total, rnk FROM ("
    " SELECT project_id, total, RANK() OVER (ORDER BY total DESC) AS rnk FROM ("
    "  SELECT project_id, SUM(downloads) AS total FROM download_counts"
    # "+period_id" keeps SQLite from searching the primary key by period (then
    # sorting every row by project); it scans the covering index in project
    # order instead. PostgreSQL reads it as plain period_id.
    "  WHERE +period_id IN :period_ids GROUP BY project_id"
    " ) totals WHERE total > 0"
    ") ranked WHERE rnk <= :cutoff ORDER BY rnk, project_id"
).bindparams(bindparam("period_ids", expanding=True))


@dataclass
class Ranked:
    project_id: int
    downloads: int
    rank: int


def rank_top(session: Session, period_ids: list[int], cutoff: int) -> list[Ranked]:
    """Projects ranked by their total over the periods (ties share a rank), down to `cutoff`."""
    if not period_ids or cutoff <= 0:
        return []
    rows = session.execute(_RANKED, {"period_ids": period_ids, "cutoff": cutoff})
    return [Ranked(int(pid), int(total), int(rnk)) for pid, total, rnk in rows]


@dataclass
class ComputeResult:
    window: Window
    periods: list[str]
    projects_known: int
    dataset_count: int
    index_size: int
    cutoff: int
    ranked: list[Ranked]
    newly: list[int] = field(default_factory=list)
    critical_total: int = 0
    notified_users: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.periods:
            return (
                f"As of {self.window.as_of}: no download periods imported for "
                f"{self.window.describe()}; nothing designated "
                f"({self.critical_total:,} projects critical in all)."
            )
        return (
            f"As of {self.window.as_of} (window {self.window.describe()}, "
            f"{len(self.periods)} periods): index size {self.index_size:,}, top "
            f"{self.cutoff:,} by rank; {len(self.ranked):,} projects in the top, "
            f"{len(self.newly):,} newly critical, {self.critical_total:,} critical in all; "
            f"{self.notified_users:,} maintainers emailed ({self.seconds:.1f}s)."
        )


def compute(
    session: Session,
    as_of: date,
    *,
    months: int | None = None,
    percent: float | None = None,
    now: datetime | None = None,
) -> ComputeResult:
    """Designate the projects in the top percent for the window before `as_of`'s month."""
    config = current_app.config
    months = months if months is not None else int(config["CRITICAL_WINDOW_MONTHS"])
    percent = percent if percent is not None else float(config["CRITICAL_PERCENT"])
    now = now or clock.now()
    started = time.perf_counter()
    take_compute_lock(session)
    window = window_for(as_of, months)
    periods = window_periods(session, window)
    known = session.scalar(select(func.count()).select_from(Project)) or 0
    dataset = max((p.dataset_count or 0 for p in periods), default=0)
    index_size = max(known, dataset)
    cutoff = cutoff_rank(index_size, percent) if periods else 0
    ranked = rank_top(session, [p.id for p in periods], cutoff)
    result = ComputeResult(
        window=window,
        periods=[p.period for p in periods],
        projects_known=known,
        dataset_count=dataset,
        index_size=index_size,
        cutoff=cutoff,
        ranked=ranked,
    )
    result.newly = _designate(session, result, now)
    result.notified_users = notify_maintainers(session, now)
    result.critical_total = (
        session.scalar(
            select(func.count()).select_from(Project).where(Project.critical_since.is_not(None))
        )
        or 0
    )
    events.record(
        session,
        "critical:computed",
        None,
        as_of=as_of.isoformat(),
        window=[window.start.isoformat(), window.last_day.isoformat()],
        periods=result.periods,
        index_size=index_size,
        projects_known=known,
        dataset_count=dataset,
        cutoff_rank=cutoff,
        in_top=len(ranked),
        newly_designated=len(result.newly),
        maintainers_emailed=result.notified_users,
    )
    session.flush()
    result.seconds = time.perf_counter() - started
    return result


# Any constant works: it names the lock that designation runs share.
_PG_LOCK_KEY = 0x6372_6974  # "crit"


def take_compute_lock(session: Session) -> None:
    """One designation run at a time, even when cron starts one on every host.

    PostgreSQL: a transaction-level advisory lock, so a second run waits and
    then sees the first one's designations and notices. SQLite: a write
    first thing takes the database's write lock before anything is read.
    """
    dialect.wait_lock(session, _PG_LOCK_KEY, sqlite_table="critical_designations")


def _designate(session: Session, result: ComputeResult, now: datetime) -> list[int]:
    by_id = {r.project_id: r for r in result.ranked}
    ids = list(by_id)
    fresh: list[int] = []
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        fresh.extend(
            session.scalars(
                select(Project.id).where(Project.id.in_(chunk), Project.critical_since.is_(None))
            )
        )
    if not fresh:
        return []
    fresh.sort(key=lambda pid: (by_id[pid].rank, pid))
    session.execute(
        update(Project),
        [
            {
                "id": pid,
                "critical_since": now,
                "critical_rank": by_id[pid].rank,
                "critical_downloads": by_id[pid].downloads,
            }
            for pid in fresh
        ],
    )
    window = result.window
    session.execute(
        insert(CriticalDesignation),
        [
            {
                "project_id": pid,
                "as_of": window.as_of,
                "window_start": window.start,
                "window_end": window.end,
                "index_size": result.index_size,
                "cutoff_rank": result.cutoff,
                "rank": by_id[pid].rank,
                "downloads": by_id[pid].downloads,
                "designated_at": now,
            }
            for pid in fresh
        ],
    )
    return fresh


def giveaway_link() -> str:
    return external_url("giveaway.index")


def notify_maintainers(session: Session, now: datetime) -> int:
    """Email each maintainer of a critical project once per project; returns users emailed."""
    pending = session.execute(
        select(Role.user_id, Role.project_id)
        .join(Project, Project.id == Role.project_id)
        .where(
            Project.critical_since.is_not(None),
            ~select(CriticalNotice.project_id)
            .where(
                CriticalNotice.project_id == Role.project_id,
                CriticalNotice.user_id == Role.user_id,
            )
            .exists(),
        )
    ).all()
    if not pending:
        return 0
    per_user: dict[int, list[int]] = defaultdict(list)
    for user_id, project_id in pending:
        per_user[user_id].append(project_id)
    link = giveaway_link()
    months = int(current_app.config["CRITICAL_WINDOW_MONTHS"])
    for user_id, project_ids in per_user.items():
        user = session.get(User, user_id)
        if user is None:
            continue
        projects = describe(session, project_ids)
        mail.send(
            mail.recipient(user.username, user.email),
            "critical_project",
            user=user,
            projects=projects,
            link=link,
            # Worded while the email renders, in the recipient's language.
            months=LazyString(months_words, months),
            percent=f"{float(current_app.config['CRITICAL_PERCENT']):g}",
            index_name=current_app.config["INDEX_NAME"],
        )
    session.execute(
        insert(CriticalNotice),
        [
            {"project_id": project_id, "user_id": user_id, "notified_at": now}
            for user_id, project_id in pending
        ],
    )
    return len(per_user)


@dataclass
class CriticalInfo:
    """A critical project and, in plain words, why."""

    project_id: int
    name: str
    display_name: str
    since: datetime
    rank: int | None
    downloads: int | None
    index_size: int | None
    as_of: date | None
    window_start: date | None
    window_end: date | None

    @property
    def before_month(self) -> str | None:
        return month_words(self.window_end) if self.window_end else None

    @property
    def window_months(self) -> int:
        if not (self.window_start and self.window_end):
            return 0
        return (self.window_end.year - self.window_start.year) * 12 + (
            self.window_end.month - self.window_start.month
        )

    @property
    def window_words(self) -> str:
        """ "six months" for the usual window ("month" for one), in the locale speaking now."""
        if not (self.window_start and self.window_end):
            return ""
        months = self.window_months
        return _("month") if months == 1 else months_words(months)

    @property
    def why(self) -> str:
        """Why the project is critical, in the locale speaking now (a page's or, in an
        email, its recipient's): read it while rendering."""
        if self.rank is None:
            return _("designated critical by the index administrators")
        rank = _number(self.rank)
        if self.index_size and self.window_end and self.window_start:
            months = self.window_months
            values = {
                "rank": rank,
                "size": _number(self.index_size),
                "months": _count_words(months),
                "month": month_words(self.window_end),
            }
            if self.downloads is None:
                return ngettext(
                    "ranked %(rank)s of %(size)s projects by downloads in the month before "
                    "%(month)s",
                    "ranked %(rank)s of %(size)s projects by downloads in the %(months)s months "
                    "before %(month)s",
                    months,
                    **values,
                )
            return ngettext(
                "ranked %(rank)s of %(size)s projects by downloads in the month before "
                "%(month)s, with %(downloads)s downloads",
                "ranked %(rank)s of %(size)s projects by downloads in the %(months)s months "
                "before %(month)s, with %(downloads)s downloads",
                months,
                downloads=_number(self.downloads),
                **values,
            )
        if self.downloads is None:
            return _("ranked %(rank)s by downloads", rank=rank)
        return _(
            "ranked %(rank)s by downloads, with %(downloads)s downloads",
            rank=rank,
            downloads=_number(self.downloads),
        )


def _info_query() -> Select[Project, CriticalDesignation]:
    return select(Project, CriticalDesignation).outerjoin(
        CriticalDesignation, CriticalDesignation.project_id == Project.id
    )


def _info(project: Project, designation: CriticalDesignation | None) -> CriticalInfo:
    assert project.critical_since is not None
    return CriticalInfo(
        project_id=project.id,
        name=project.name,
        display_name=project.display_name,
        since=project.critical_since,
        rank=project.critical_rank,
        downloads=project.critical_downloads,
        index_size=designation.index_size if designation else None,
        as_of=designation.as_of if designation else None,
        window_start=designation.window_start if designation else None,
        window_end=designation.window_end if designation else None,
    )


def describe(session: Session, project_ids: list[int]) -> list[CriticalInfo]:
    rows = session.execute(
        _info_query()
        .where(Project.id.in_(project_ids), Project.critical_since.is_not(None))
        .order_by(Project.critical_rank, Project.name)
    ).all()
    return [_info(p, d) for p, d in rows]


def critical_projects_of(session: Session, user_id: int) -> list[CriticalInfo]:
    """The critical projects `user_id` is an Owner or Maintainer of."""
    rows = session.execute(
        _info_query()
        .join(Role, Role.project_id == Project.id)
        .where(Role.user_id == user_id, maintainers.is_critical_role())
        .order_by(Project.critical_rank, Project.name)
    ).all()
    return [_info(p, d) for p, d in rows]


def critical_projects(
    session: Session,
) -> Result[str, int | None, int | None, datetime | None]:
    """Every critical project, best rank first (streamed)."""
    return session.execute(
        select(
            Project.name, Project.critical_downloads, Project.critical_rank, Project.critical_since
        )
        .where(Project.critical_since.is_not(None))
        .order_by(Project.critical_rank, Project.name)
        .execution_options(yield_per=1000)
    )


# The columns of `list-critical` and the admin CSV: the rows of critical_projects().
CSV_HEADER = ("project", "downloads", "rank", "critical_since")
