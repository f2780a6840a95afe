"""Demo data: six months of synthetic download counts, then a designation run."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.critical import importer, service
from giveaway.critical.periods import add_months, parse_period
from giveaway.projects import names
from giveaway.projects.models import Project

FILLER = 400
_PREFIXES = ["py", "fast", "tiny", "open", "async", "simple", "django", "pytest", "aio", "data"]
_WORDS = ["json", "http", "cache", "config", "retry", "parser", "logger", "schema", "cli", "jwt"]
_SUFFIXES = ["", "-lite", "-tools", "-utils", "-client"]

# Where the demo projects land among about 400 projects: the top 1% is the top 5.
DEMO_RANKS = {
    "requests-toolbelt": 2,
    "zeroconf-lite": 4,
    "flask-tiny-utils": 40,
    "py.yaml-fast": 250,
}


def _filler_names() -> list[str]:
    names = [f"{p}-{w}{s}" for p in _PREFIXES for w in _WORDS for s in _SUFFIXES]
    return names[:FILLER]


def _quiet(_line: str) -> None:
    pass


def downloads(session: Session, say: Callable[[str], None] = _quiet) -> str:
    """Import six months of counts for the demo and filler projects, then designate.

    Says each month as it is imported; returns what the step made.
    """
    rng = random.Random(2022)
    today = clock.now().date()
    order = _filler_names()
    for name, rank in sorted(DEMO_RANKS.items(), key=lambda item: item[1]):
        order.insert(rank - 1, name)
    imported = []
    for back in range(6, 0, -1):
        month = add_months(today, -back)
        period = parse_period(f"{month:%Y-%m}")
        out = io.StringIO()
        out.write("project,downloads\n")
        for position, name in enumerate(order, start=1):
            # Roughly a power law, wobbling a little from month to month.
            count = int(90_000_000 / position**1.3 * rng.uniform(0.97, 1.03))
            out.write(f"{name},{count}\n")
        handle = io.BytesIO(out.getvalue().encode())
        importer.import_downloads(session, handle, period, source=f"demo:{period.name}.csv")
        imported.append(period.name)
        say(f"    downloads of {period.name} imported ({len(imported)} of 6 months)")
    computed = service.compute(session, today)
    demo_names = [names.normalize(n) for n in DEMO_RANKS]
    critical = session.scalars(
        select(Project.display_name)
        .where(Project.name.in_(demo_names), Project.critical_since.is_not(None))
        .order_by(Project.critical_rank)
    ).all()
    return (
        f"downloads of {len(order)} projects for {imported[0]} to {imported[-1]}; "
        f"{len(computed.ranked)} of {computed.index_size} designated critical by downloads, "
        f"among them {', '.join(critical) or 'none of the demo projects'}"
    )
