"""The launch in short: bench/launch.py's open loop at small rates, for a few seconds.

The same code as the benchmark (gunicorn with the production configuration,
limits on, each maintainer from their own address) on SQLite and on
PostgreSQL with Redis. It asserts that nothing broke — no 5xx, no unexpected
answer, every giveaway rule held, every figure reported — never how fast it
went: speed is measured by the benchmark and written in docs/benchmarks.md.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import _pg_reachable, require
from tests.load.test_stampede import REDIS_URL, _redis_problem

pytestmark = [pytest.mark.slow]

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _services(database: str) -> str | None:
    if database == "sqlite":
        return None
    problem = _pg_reachable()
    require(problem is None, problem or "")
    problem = _redis_problem()
    require(problem is None, problem or "")
    return REDIS_URL


def _assert_held(figures: dict, summary: str) -> None:  # type: ignore[type-arg]
    from bench import launch

    assert set(launch.REPORT_FIELDS) <= set(figures), summary
    assert figures["server_errors"] == 0, summary
    assert figures["errors"] == {}, summary
    assert figures["problems"] == [], summary
    # Every arrival got to the end, saw a code, and the database agrees.
    assert figures["completed"] == figures["offered"] > 0, summary
    assert figures["codes_shown"] == figures["offered"], summary
    assert figures["receipts"] == figures["claimed"] == figures["offered"], summary
    assert figures["end_to_end"]["n"] == figures["offered"], summary
    for step in figures["steps"].values():
        assert {"n", "per_s", "p50_ms", "p99_ms", "max_ms", "5xx", "errors"} <= set(step)
    assert figures["max_worker_rss_mb"] > 0, summary
    assert len(figures["worker_peak_rss_mb"]) == figures["workers"], summary


@pytest.mark.parametrize("database", DATABASES)
def test_cold_arrivals_hold(database: str) -> None:
    """Arrivals sign in with a password, open the giveaway, claim and open the walkthrough."""
    from bench import launch

    lines: list[str] = []
    figures = launch.run(
        "cold",
        rate=10,
        seconds=3,
        database=database,
        workers=2,
        threads=8,
        pool=100,
        redis_url=_services(database),
        log=lines.append,
    )
    summary = "\n".join(lines)
    _assert_held(figures, summary)
    assert list(figures["steps"]) == list(launch.STEPS["cold"]), summary


@pytest.mark.parametrize("database", DATABASES)
def test_the_opening_holds(database: str) -> None:
    """Signed-in maintainers see when it opens, then claim as it opens, more than the pool."""
    from bench import launch

    lines: list[str] = []
    figures = launch.run(
        "opening",
        rate=20,
        seconds=2,
        later_rate=5,
        later_seconds=1,
        database=database,
        workers=2,
        threads=8,
        pool=30,
        arrivals="fixed",
        redis_url=_services(database),
        opening_margin=30,
        log=lines.append,
    )
    summary = "\n".join(lines)
    assert set(launch.REPORT_FIELDS) <= set(figures), summary
    assert figures["server_errors"] == 0, summary
    assert figures["errors"] == {}, summary
    assert figures["problems"] == [], summary
    assert figures["offered"] == 45, summary
    assert figures["completed"] == 45, summary
    # The pool of 30 went in full, to 30 different people; the rest were told.
    assert figures["codes_shown"] == 30, summary
    assert figures["receipts"] == figures["claimed"] == 30, summary
    assert figures["steps"]["before opening"]["n"] == 10, summary


def test_arrivals_keep_to_the_schedule() -> None:
    from bench import launch

    fixed = launch.schedule([(10, 2), (4, 1)], "fixed", random.Random(1))
    assert len(fixed) == 24
    assert fixed[:3] == [0.0, 0.1, 0.2]
    assert fixed[20] == 2.0 and fixed[-1] == 2.75
    poisson = launch.schedule([(50, 20)], "poisson", random.Random(1))
    assert 900 < len(poisson) < 1100  # about rate x seconds
    assert poisson == sorted(poisson) and poisson[0] > 0 and poisson[-1] < 20
    with pytest.raises(ValueError, match="poisson or fixed"):
        launch.schedule([(1, 1)], "bursty", random.Random(1))


def test_every_maintainer_has_an_address_of_their_own() -> None:
    from bench import launch

    addresses = {launch.address(i) for i in range(70_000)}
    assert len(addresses) == 70_000
