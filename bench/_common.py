"""Shared helpers of the benchmarks: databases, timing and percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "GIVEAWAY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_postgres(
    prefix: str = "giveaway_bench", admin_url: str = PG_ADMIN_URL
) -> Iterator[str]:
    """A new PostgreSQL database for one run, dropped afterwards (on a local server only)."""
    if sa.make_url(admin_url).host not in ("127.0.0.1", "localhost", None):
        raise ValueError("benchmarks only run against a PostgreSQL server on this machine")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)} median={statistics.median(values) * 1000:.1f} ms "
        f"p99={percentile(values, 99) * 1000:.1f} ms"
    )


@contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str], *, workers: int = 2, threads: int = 8
) -> Iterator[str]:
    """Serve `app_spec` with gunicorn on a free localhost port; yields the base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
        app_spec,
    ]
    process = subprocess.Popen(command, env={**os.environ, **env})
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with {process.returncode}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start within 30 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_ready(port: int, path: str = "/healthz", workers: int = 16) -> None:
    """Wait until gunicorn's workers answer `path` with 200 (the master accepts
    connections before they have booted), asking `workers` times."""
    import http.client

    deadline = time.monotonic() + 60
    for _ in range(workers):
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", path)
                status = conn.getresponse().status
            except OSError:
                status = 0
            finally:
                conn.close()
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} answers {status} after 60 s")
            time.sleep(0.2)


# --- seeding and checking a giveaway ----------------------------------------------------


def seed_giveaway(
    engine: sa.Engine,
    users: int,
    codes: int,
    *,
    password_hash: str = "x",
    prefix: str = "bench",
) -> list[int]:
    """`users` eligible maintainers of one critical project and a pool of `codes`.

    Every user gets the same `password_hash` (hashing once keeps seeding fast;
    the sign-in still verifies it with argon2 each time). Returns the user ids.
    """
    from datetime import UTC, datetime, timedelta

    from giveaway.accounts.models import User
    from giveaway.claims.models import PromoBatch, PromoCode
    from giveaway.projects.models import Project, Role, RoleName

    now = datetime.now(UTC)
    with engine.begin() as conn:
        project_id = conn.execute(
            sa.insert(Project)
            .values(
                name=f"{prefix}-project",
                display_name=f"{prefix}-project",
                created_at=now,
                critical_since=now,
                critical_rank=1,
                critical_downloads=1,
            )
            .returning(Project.id)
        ).scalar_one()
        conn.execute(
            sa.insert(User),
            [
                {
                    "username": f"{prefix}{i:05d}",
                    "email": f"{prefix}{i:05d}@example.org",
                    "password_hash": password_hash,
                    "email_verified_at": now,
                    "created_at": datetime(2020, 1, 1, tzinfo=UTC),
                    "is_admin": False,
                    "session_version": 0,
                }
                for i in range(users)
            ],
        )
        ids = list(conn.execute(sa.select(User.id).order_by(User.id)).scalars())
        conn.execute(
            sa.insert(Role),
            [{"user_id": i, "project_id": project_id, "role_name": RoleName.OWNER} for i in ids],
        )
        batch_id = conn.execute(
            sa.insert(PromoBatch)
            .values(
                name=prefix,
                vendor=prefix,
                keys_per_code=2,
                expires_at=now + timedelta(days=30),
                uploaded_at=now,
                code_count=codes,
            )
            .returning(PromoBatch.id)
        ).scalar_one()
        if codes:
            conn.execute(
                sa.insert(PromoCode),
                [
                    {
                        "code": f"{prefix.upper()}-{i:06d}",
                        "batch_id": batch_id,
                        "expires_at": now + timedelta(days=30),
                    }
                    for i in range(codes)
                ],
            )
    return ids


def claim_problems(
    engine: sa.Engine,
    shown: dict[int, str | None],
    *,
    expected: int | None = None,
    pool: int | None = None,
) -> list[str]:
    """Broken giveaway rules found in the database; empty when every rule held.

    `shown`: user id -> the code that user was shown (None: no code). Checks: no
    code held twice, no user holding two codes, the pool not overdrawn, each
    user shown exactly the code the database holds for them, and (when given)
    `expected` codes claimed in all.
    """
    from giveaway.claims.models import PromoCode

    problems = []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(PromoCode.claimed_by_id, PromoCode.code).where(
                PromoCode.claimed_by_id.is_not(None)
            )
        ).all()
    held = {uid: code for uid, code in rows}
    if len(held) != len(rows):
        problems.append("a user holds more than one code")
    if len(set(held.values())) != len(held):
        problems.append("a code is held by more than one user")
    if pool is not None and len(rows) > pool:
        problems.append(f"pool overdrawn: {len(rows)} codes claimed from a pool of {pool}")
    codes_shown = [c for c in shown.values() if c]
    if len(codes_shown) != len(set(codes_shown)):
        problems.append("the same code was shown to two users")
    wrong = [uid for uid, code in shown.items() if held.get(uid) != code]
    if wrong:
        uid = wrong[0]
        problems.append(
            f"{len(wrong)} users shown another code than the one they hold "
            f"(e.g. user {uid} was shown {shown[uid]!r} but holds {held.get(uid)!r})"
        )
    if expected is not None and len(held) != expected:
        problems.append(f"{len(held)} codes claimed, expected {expected}")
    return problems
