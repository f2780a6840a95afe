"""compute-critical: ranking, index size, window, stickiness, mail, events."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from giveaway import db
from giveaway.critical import service
from giveaway.critical.models import CriticalDesignation, CriticalNotice
from giveaway.critical.periods import parse_period, window_for
from giveaway.events.models import Event
from giveaway.projects.models import RoleName
from tests.conftest import outbox_for
from tests.critical.conftest import NOW, critical_names, import_rows, project, run, write_json
from tests.factories import make_project, make_user

SIX_MONTHS = ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]


def filler(n: int, downloads: int = 1) -> list[tuple[str, int]]:
    return [(f"filler-{i}", downloads) for i in range(n)]


def compute(app: Flask, as_of: str | None = None):  # type: ignore[no-untyped-def]
    args = ["compute-critical"] + (["--as-of", as_of] if as_of else [])
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(
    ("size", "percent", "expected"),
    [
        (0, 1.0, 0),
        (1, 1.0, 1),
        (100, 1.0, 1),
        (101, 1.0, 2),
        (350_000, 1.0, 3500),
        (788_142, 1.0, 7882),
        (300, 0.5, 2),
        (10, 100, 10),
    ],
)
def test_cutoff_rank_rounds_up(size: int, percent: float, expected: int) -> None:
    assert service.cutoff_rank(size, percent) == expected


def test_window_is_the_six_whole_months_before_the_as_of_month() -> None:
    for as_of in (date(2026, 4, 1), date(2026, 4, 15), date(2026, 4, 30)):
        window = window_for(as_of, 6)
        assert (window.start, window.end) == (date(2025, 10, 1), date(2026, 4, 1))
    january = window_for(date(2026, 1, 31), 6)
    assert (january.start, january.end) == (date(2025, 7, 1), date(2026, 1, 1))
    assert january.describe() == "2025-07 to 2025-12"


def test_ties_at_the_boundary_are_all_critical(any_app: Flask, tmp_path: Path) -> None:
    # 300 projects: the top 1% is the top 3; ranks 3, 3 and 3 tie.
    rows = [("big", 1000), ("second", 900), ("tie-a", 500), ("tie-b", 500), ("tie-c", 500)]
    import_rows(any_app, tmp_path, "2026-03", rows + filler(295))
    result = compute(any_app)
    assert critical_names(any_app) == {"big", "second", "tie-a", "tie-b", "tie-c"}
    assert "index size 300, top 3 by rank; 5 projects in the top, 5 newly critical" in result.stdout
    assert project(any_app, "tie-b").critical_rank == 3  # type: ignore[union-attr]
    assert project(any_app, "big").critical_rank == 1  # type: ignore[union-attr]
    # Ranks skip after a tie, as SQL RANK() does.
    with any_app.app_context():
        ranked = service.rank_top(db.session(), [1], 10_000)
    ranks = [r.rank for r in ranked]
    assert ranks[:6] == [1, 2, 3, 3, 3, 6]


def test_window_totals_are_summed_over_the_months(any_app: Flask, tmp_path: Path) -> None:
    # "steady" is never first in a month but has the highest six-month total.
    for i, month in enumerate(SIX_MONTHS):
        spiky = 1000 if i == 0 else 0
        import_rows(any_app, tmp_path, month, [("steady", 400), ("spiky", spiky), *filler(98)])
    compute(any_app)
    assert critical_names(any_app) == {"steady"}
    steady = project(any_app, "steady")
    assert steady.critical_downloads == 2400 and steady.critical_rank == 1  # type: ignore[union-attr]


def test_index_size_from_the_dataset_count(any_app: Flask, tmp_path: Path) -> None:
    rows = [(f"p{i}", 1000 - i) for i in range(10)]
    path = write_json(tmp_path, "top.json", rows, dataset_count=250)
    assert run(any_app, "import-downloads", str(path), "--period", "2026-03").exit_code == 0
    result = compute(any_app)
    # 10 projects known, but the dataset says 250 had downloads: top ceil(2.5) = 3.
    assert "index size 250, top 3 by rank" in result.stdout
    assert critical_names(any_app) == {"p0", "p1", "p2"}


def test_index_size_from_the_projects_table(any_app: Flask, tmp_path: Path) -> None:
    path = write_json(tmp_path, "top.json", [("p0", 10), ("p1", 9), ("p2", 8)], dataset_count=5)
    assert run(any_app, "import-downloads", str(path), "--period", "2026-03").exit_code == 0
    for i in range(198):
        make_project(any_app, f"quiet-{i}")
    result = compute(any_app)
    # 201 projects known beats the dataset's 5: top ceil(2.01) = 3.
    assert "index size 201, top 3 by rank" in result.stdout
    assert critical_names(any_app) == {"p0", "p1", "p2"}


def test_largest_dataset_count_of_the_window_counts(app: Flask, tmp_path: Path) -> None:
    for month, size in (("2026-02", 150), ("2026-03", 420), ("2025-09", 100_000)):
        path = write_json(
            tmp_path,
            f"{month}.json",
            [("a", 5), ("b", 4), ("c", 3), ("d", 2), ("e", 1)],
            dataset_count=size,
        )
        assert run(app, "import-downloads", str(path), "--period", month).exit_code == 0
    result = compute(app)
    # 2025-09 is outside the window, so 420 is the size: top 5.
    assert "index size 420, top 5 by rank" in result.stdout


EDGES = {
    "months": (
        [("first-month", "2025-10"), ("last-month", "2026-03")],
        [("before", "2025-09"), ("as-of-month", "2026-04")],
    ),
    "days": (
        [("first-day", "2025-10-01"), ("last-day", "2026-03-31")],
        [("before-day", "2025-09-30"), ("as-of-day", "2026-04-01"), ("after-day", "2026-04-30")],
    ),
}


@pytest.mark.parametrize("kind", list(EDGES))
@pytest.mark.parametrize("as_of", ["2026-04-01", "2026-04-30"])
def test_window_edges(any_app: Flask, tmp_path: Path, as_of: str, kind: str) -> None:
    inside, outside = EDGES[kind]
    for name, period in inside + outside:
        import_rows(any_app, tmp_path, period, [(name, 1000)])
    # 300 projects or so: the top 3 or 4; "third" keeps the filler out of it.
    import_rows(any_app, tmp_path, "2026-02-10", [("third", 500), ("fourth", 400), *filler(300)])
    result = compute(any_app, as_of)
    assert "window 2025-10 to 2026-03" in result.stdout
    assert critical_names(any_app) == {name for name, _ in inside} | {"third", "fourth"}


def test_days_inside_an_imported_month_are_not_counted_twice(app: Flask, tmp_path: Path) -> None:
    import_rows(app, tmp_path, "2026-03", [("a", 100), ("b", 150), *filler(98)])
    import_rows(app, tmp_path, "2026-03-05", [("a", 100)])
    import_rows(app, tmp_path, "2026-02-05", [("a", 1)])
    compute(app)
    assert critical_names(app) == {"b"}
    assert project(app, "b").critical_downloads == 150  # type: ignore[union-attr]


def test_designation_is_sticky_across_a_drop_in_downloads(any_app: Flask, tmp_path: Path) -> None:
    import_rows(any_app, tmp_path, "2026-03", [("falling", 1000), ("rising", 10), *filler(98)])
    compute(any_app, "2026-04-10")
    before = project(any_app, "falling")
    assert before.critical_since is not None  # type: ignore[union-attr]
    import_rows(any_app, tmp_path, "2026-04", [("falling", 0), ("rising", 5000), *filler(98)])
    any_app.config["CLOCK"] = lambda: NOW.replace(month=5, day=2)
    compute(any_app, "2026-05-02")
    after = project(any_app, "falling")
    assert critical_names(any_app) == {"falling", "rising"}
    assert (after.critical_since, after.critical_rank, after.critical_downloads) == (  # type: ignore[union-attr]
        before.critical_since,  # type: ignore[union-attr]
        before.critical_rank,  # type: ignore[union-attr]
        before.critical_downloads,  # type: ignore[union-attr]
    )
    assert project(any_app, "rising").critical_since == NOW.replace(month=5, day=2)  # type: ignore[union-attr]


def test_rerun_changes_nothing_but_logs_an_event(any_app: Flask, tmp_path: Path) -> None:
    maria = make_user(any_app, "maria")
    make_project(any_app, "toolbelt", maintainers=[(maria, RoleName.OWNER)])
    import_rows(any_app, tmp_path, "2026-03", [("toolbelt", 1000), *filler(99)])
    first = compute(any_app)
    assert "1 newly critical" in first.stdout and "1 maintainers emailed" in first.stdout
    snapshot = project(any_app, "toolbelt")
    second = compute(any_app)
    assert "0 newly critical, 1 critical in all; 0 maintainers emailed" in second.stdout
    again = project(any_app, "toolbelt")
    assert (again.critical_since, again.critical_rank) == (
        snapshot.critical_since,
        snapshot.critical_rank,
    )  # type: ignore[union-attr]
    with any_app.app_context():
        session = db.session()
        events = session.scalars(
            select(Event).where(Event.kind == "critical:computed").order_by(Event.id)
        ).all()
        assert len(events) == 2
        detail = events[0].detail
        assert detail["as_of"] == "2026-04-15"
        assert detail["window"] == ["2025-10-01", "2026-03-31"]
        assert detail["index_size"] == 100 and detail["cutoff_rank"] == 1
        assert detail["newly_designated"] == 1 and events[1].detail["newly_designated"] == 0
        assert len(session.scalars(select(CriticalDesignation)).all()) == 1


def test_maintainers_are_emailed_once(any_app: Flask, tmp_path: Path) -> None:
    outbox = outbox_for(any_app)
    maria = make_user(any_app, "maria")
    otto = make_user(any_app, "otto")
    quiet = make_user(any_app, "quiet")
    make_project(
        any_app,
        "requests-toolbelt",
        maintainers=[(maria, RoleName.OWNER), (otto, RoleName.MAINTAINER)],
    )
    make_project(any_app, "zeroconf-lite", maintainers=[(maria, RoleName.MAINTAINER)])
    make_project(any_app, "small", maintainers=[(quiet, RoleName.OWNER)])
    import_rows(
        any_app,
        tmp_path,
        "2026-03",
        [("requests-toolbelt", 900), ("zeroconf-lite", 800), ("small", 1), *filler(197)],
    )
    compute(any_app)
    assert len(outbox.to("maria@example.org")) == 1
    assert len(outbox.to("otto@example.org")) == 1
    assert outbox.to("quiet@example.org") == []
    message = outbox.to("maria@example.org")[0]
    text = outbox.text(message)
    assert "requests-toolbelt" in text and "zeroconf-lite" in text
    assert "ranked 1 of 200 projects by downloads in the six months before April 2026" in text
    assert "http://localhost/giveaway" in outbox.links(message)
    assert "critical" in message["Subject"]
    with any_app.app_context():
        assert len(db.session().scalars(select(CriticalNotice)).all()) == 3
    compute(any_app)
    compute(any_app, "2026-04-16")
    assert len(outbox.to("maria@example.org")) == 1
    assert len(outbox) == 2


def test_a_maintainer_added_later_is_told_once(app: Flask, tmp_path: Path) -> None:
    outbox = outbox_for(app)
    import_rows(app, tmp_path, "2026-03", [("toolbelt", 1000), *filler(99)])
    compute(app)
    assert len(outbox) == 0
    newcomer = make_user(app, "newcomer")
    from giveaway.projects.models import Role

    with app.app_context():
        pid = project(app, "toolbelt").id  # type: ignore[union-attr]
        db.session().add(Role(user_id=newcomer.id, project_id=pid, role_name=RoleName.MAINTAINER))
        db.session().commit()
    compute(app)
    compute(app)
    assert len(outbox.to("newcomer@example.org")) == 1


def test_nothing_imported_designates_nothing(app: Flask) -> None:
    make_project(app, "lonely")
    result = compute(app)
    assert "no download periods imported for 2025-10 to 2026-03" in result.stdout
    assert critical_names(app) == set()


def test_projects_without_downloads_are_never_critical(app: Flask, tmp_path: Path) -> None:
    import_rows(app, tmp_path, "2026-03", [("zero", 0), ("none", 0)])
    compute(app)
    assert critical_names(app) == set()


def test_bad_as_of(app: Flask) -> None:
    result = run(app, "compute-critical", "--as-of", "2026-02-30")
    assert result.exit_code == 1
    assert "--as-of: '2026-02-30' is not a date" in result.output


def test_period_parsing() -> None:
    assert parse_period("2024-02").ends_on == date(2024, 2, 29)
    assert parse_period("2026-03-14").starts_on == date(2026, 3, 14)
    assert parse_period("2026-03").is_month and not parse_period("2026-03-14").is_month


def test_concurrent_runs_designate_and_email_once(any_app: Flask, tmp_path: Path) -> None:
    """Two runs at once (cron on two hosts): each project is designated and told once."""
    import threading

    from giveaway import mail

    outbox = outbox_for(any_app)
    maria = make_user(any_app, "maria")
    make_project(any_app, "toolbelt", maintainers=[(maria, RoleName.OWNER)])
    import_rows(any_app, tmp_path, "2026-03", [("toolbelt", 1000), *filler(99)])
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        with any_app.app_context():
            try:
                barrier.wait()
                service.compute(db.session(), date(2026, 4, 15))
                db.commit()
            except BaseException as exc:  # noqa: BLE001 - a loser may fail, never duplicate
                db.session().rollback()
                mail.discard_queue()
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) <= 1
    assert critical_names(any_app) == {"toolbelt"}
    assert len(outbox.to("maria@example.org")) == 1
    with any_app.app_context():
        assert len(db.session().scalars(select(CriticalDesignation)).all()) == 1
