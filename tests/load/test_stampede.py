"""The stampede in short: a crowd of maintainers signs in and claims from a smaller pool.

Runs bench/stampede.py's scenario against gunicorn: on a scratch PostgreSQL
database with rate limits in Redis, and on the embedded SQLite default with
several worker processes. It asserts that nothing broke (no 5xx, no
unexpected status, every giveaway rule held), never how fast it went: speed is
measured by the benchmark and written down in docs/benchmarks.md.
"""

from __future__ import annotations

import pytest

from tests.conftest import _pg_reachable, require

pytestmark = [pytest.mark.slow]

REDIS_URL = "redis://127.0.0.1:6379/14"


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis unreachable at {REDIS_URL}: {exc}"
    return None


@pytest.mark.postgres
def test_stampede_holds() -> None:
    problem = _pg_reachable()
    require(problem is None, problem or "")
    problem = _redis_problem()
    require(problem is None, problem or "")
    from bench import stampede

    lines: list[str] = []
    figures = stampede.run(
        connections=64, users=64, pool=40, max_seconds=60, redis_url=REDIS_URL, log=lines.append
    )
    summary = "\n".join(lines)
    assert figures["server_errors"] == 0, summary
    assert figures["errors"] == {}, summary
    assert figures["problems"] == [], summary
    # Every maintainer got through, and the pool was handed out in full.
    assert figures["users_started"] == 64, summary
    assert figures["steps"]["claim"]["n"] == 64, summary
    assert sum(1 for code in figures["shown"].values() if code) == 40, summary


def test_sqlite_stampede_holds() -> None:
    """Issue 12, defect 5: the embedded default under the README's gunicorn command
    (4 workers x 8 threads) answers a crowd signing in and claiming at once, with
    no "database is locked" page and every receipt written once."""
    from bench import stampede

    lines: list[str] = []
    figures = stampede.run(
        connections=32,
        users=32,
        pool=20,
        max_seconds=60,
        redis_url=None,
        database="sqlite",
        workers=4,
        threads=8,
        log=lines.append,
    )
    summary = "\n".join(lines)
    assert figures["server_errors"] == 0, summary
    assert figures["errors"] == {}, summary
    assert figures["problems"] == [], summary
    assert figures["users_started"] == 32, summary
    assert figures["steps"]["claim"]["n"] == 32, summary
    assert sum(1 for code in figures["shown"].values() if code) == 20, summary
