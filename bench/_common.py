"""Shared helpers of the benchmarks: databases, timing and percentiles."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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


@dataclass
class Server:
    """A running gunicorn: its address and its master process."""

    url: str
    port: int
    process: subprocess.Popen  # type: ignore[type-arg]


@contextmanager
def serve(
    app_spec: str,
    env: dict[str, str],
    *,
    workers: int = 2,
    threads: int = 8,
    config: Path | None = None,
    stderr_path: Path | None = None,
) -> Iterator[Server]:
    """Serve `app_spec` with gunicorn on a free localhost port.

    With `config` (config/gunicorn.conf.py), the production settings apply and
    only the address, workers and threads are given on the command line.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn"]
    if config is not None:
        command += ["-c", str(config)]
    else:
        command += ["-k", "gthread", "--log-level", "warning"]
    command += [
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        app_spec,
    ]
    stderr = stderr_path.open("ab") if stderr_path is not None else None
    process = subprocess.Popen(command, env={**os.environ, **env}, stderr=stderr)
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
        yield Server(url, port, process)
    finally:
        workers_left = children(process.pid)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # A master killed before its graceful shutdown leaves its workers serving
        # the requests still queued: stop them, so the database is read at rest.
        for pid in workers_left:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if stderr is not None:
            stderr.close()


@contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str], *, workers: int = 2, threads: int = 8
) -> Iterator[str]:
    """Serve `app_spec` with gunicorn on a free localhost port; yields the base URL."""
    with serve(app_spec, env, workers=workers, threads=threads) as server:
        yield server.url


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers, for its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0.0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) of a process in KiB: its peak and current resident memory."""
    values = {"VmHWM": 0, "VmRSS": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values["VmHWM"], values["VmRSS"]


@dataclass
class MemorySampler:
    """Samples the resident memory of a gunicorn master's workers on a thread.

    Keeps each worker's peak (VmHWM, the kernel's own high-water mark, read
    until the worker goes away) and the largest VmRSS seen.
    """

    master: int
    interval: float = 0.5
    peak_kib: dict[int, int] = field(default_factory=dict)
    rss_kib: dict[int, int] = field(default_factory=dict)
    cpu_start: dict[int, float] = field(default_factory=dict)
    cpu_last: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        for pid in children(self.master):
            hwm, rss = memory_kib(pid)
            cpu = cpu_seconds(pid)
            if cpu:
                self.cpu_start.setdefault(pid, cpu)
                self.cpu_last[pid] = cpu
            if hwm:
                self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), hwm)
                self.rss_kib[pid] = max(self.rss_kib.get(pid, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def cpu_used(self) -> float:
        """CPU seconds the workers used while sampled (user + system, all workers)."""
        return sum(self.cpu_last[pid] - self.cpu_start[pid] for pid in self.cpu_last)

    def peak_mb(self) -> dict[int, float]:
        return {pid: kib / 1024 for pid, kib in sorted(self.peak_kib.items())}


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


def pool_balance(engine: sa.Engine) -> list[str]:
    """Claimed plus left equals uploaded: no code lost or made up (empty when it holds)."""
    from giveaway.claims.models import PromoBatch, PromoCode

    unclaimed = sa.and_(
        PromoCode.claimed_by_id.is_(None),
        PromoCode.expired_at.is_(None),
        PromoCode.voided_at.is_(None),
    )
    with engine.connect() as conn:
        # One statement: one snapshot of the pool.
        claimed, left = conn.execute(
            sa.select(
                sa.func.count(PromoCode.claimed_by_id),
                sa.func.count(sa.case((unclaimed, PromoCode.id))),
            )
        ).one()
        uploaded = conn.execute(sa.select(sa.func.sum(PromoBatch.code_count))).scalar() or 0
    if claimed + left != uploaded:
        return [f"{claimed} claimed + {left} left != {uploaded} uploaded"]
    return []


# --- the pages, as a client reads them ----------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
CODE = re.compile(r'id="promo-code"[^>]*>([^<]+)<')


def csrf_token(html: str) -> str:
    m = CSRF.search(html)
    return (m.group(1) or m.group(2)) if m else ""


def shown_code(html: str) -> str | None:
    """The promo code a page shows its reader, if any."""
    m = CODE.search(html)
    return m.group(1).strip() if m else None


@contextmanager
def scratch_database(
    database: str, pg_admin_url: str = PG_ADMIN_URL, prefix: str = "giveaway_bench"
) -> Iterator[str]:
    """A scratch database URL: a new PostgreSQL database, or a SQLite file (both removed)."""
    if database == "postgresql":
        with scratch_postgres(prefix, pg_admin_url) as url:
            yield url
        return
    if database != "sqlite":
        raise ValueError(f"--database must be postgresql or sqlite, not {database!r}")
    directory = tempfile.mkdtemp(prefix=f"{prefix}-sqlite-")
    try:
        yield f"sqlite:///{directory}/giveaway.sqlite3"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def count_receipts(outbox: str) -> int:
    return sum(1 for p in Path(outbox).glob("*.eml") if "promo code" in _subject(p).lower())


def wait_for_receipts(outbox: str, expected: int, timeout: float = 20.0) -> int:
    """Receipts leave on a background thread after the response: wait for them."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = count_receipts(outbox)
        if count >= expected:
            time.sleep(0.5)  # a duplicate would show up now
            return count_receipts(outbox)
        time.sleep(0.2)
    return count


def _subject(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            for line in fh:
                if line.lower().startswith(b"subject:"):
                    return line.decode("utf-8", "replace")
                if not line.strip():
                    break
    except OSError:
        pass
    return ""


def local_only(*urls: str) -> None:
    """Refuse any server but this machine's (PostgreSQL and Redis URLs)."""
    for url in urls:
        if not url:
            continue
        if url.startswith(("redis://", "rediss://")):
            host = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
        else:
            host = sa.make_url(url).host
        if host not in ("127.0.0.1", "localhost", None):
            raise ValueError(f"benchmarks only run against local servers, not {host}")
