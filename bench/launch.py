"""The launch as it arrives: maintainers come on a schedule (an open loop).

    .venv/bin/python bench/launch.py cold [--rate 17] [--seconds 180]
    .venv/bin/python bench/launch.py opening [--rate 55] [--seconds 60]
        [--later-rate 12] [--later-seconds 120]
    both: [--database postgresql|sqlite] [--workers 4] [--threads 8]
        [--pool 4000] [--arrivals poisson|fixed] [--seed 1] [--redis-db 12]
        [--json FILE]

Each maintainer is a new task started at their scheduled arrival, however many
are still in flight: a slow server makes people queue, it does not make them
arrive later. Every latency that starts an arrival is measured from the
SCHEDULED time, so a client that fell behind cannot hide the wait
(coordinated omission). Arrivals are a Poisson process at the stated rate (or
evenly spaced with `--arrivals fixed`).

Two shapes:

- cold: RATE maintainers a second (17/s is 10,000 in 10 minutes) each open
  the sign-in page, sign in with a password, open /giveaway, claim (POST, then
  the page the answer leads to, which shows the code), and open the
  walkthrough /giveaway/setup;
- opening: the maintainers signed in before the opening (their sessions are
  made by the benchmark, as a browser kept them) and a sample of them looks at
  the page before it opens, which must say when it opens; from the opening
  they click claim: RATE a second for SECONDS (a third of 10,000 in the first
  minute is 55/s), then LATER_RATE a second for LATER_SECONDS.

The portal runs as in production: gunicorn with config/gunicorn.conf.py
(gthread, --workers x --threads), PostgreSQL (a scratch database, dropped
afterwards) and rate limits in Redis (database --redis-db, flushed), limits
ON at their configured values. Every maintainer comes from their own address
(X-Forwarded-For through one trusted proxy hop, PROXY_FIX_HOPS=1), as they
would through the production proxy, so the per-address limits count each
person, not the benchmark. With `--database sqlite` the embedded default is
served instead (a SQLite file, limits in each worker's memory). The
breached-password check is switched off (BREACHED_PASSWORDS_URL empty): this
machine has no internet, and the check is a network call, not CPU.

Users, roles and codes are inserted by bulk SQL; every user has the same
password hash, made at the portal's parameters (each sign-in still verifies
it). Afterwards the database is read: no code held twice, no user holding
two, each claimant shown the code the database holds, claimed + left =
uploaded, no more receipts than claimed codes (one that a failed delivery
left in the outbox for `giveaway send-mail` is reported, not counted as
broken; the short form in CI expects every one). Worker memory is each gunicorn
worker's peak resident set (VmHWM in /proc/PID/status, sampled every 0.5 s).

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    PG_ADMIN_URL,
    MemorySampler,
    claim_problems,
    csrf_token,
    local_only,
    percentile,
    pool_balance,
    scratch_database,
    seed_giveaway,
    serve,
    shown_code,
    wait_for_receipts,
    wait_until_ready,
)

PASSWORD = "launch-day-passphrase-long-enough"  # a throwaway scratch database
USER_AGENT = "giveaway-launch-bench"
SHAPES = ("cold", "opening")
# Each shape's steps, in order, and the answers that are not errors.
STEPS = {
    "cold": ("login page", "sign in", "giveaway", "claim", "code page", "setup"),
    "opening": ("before opening", "claim", "code page"),
}
EXPECTED = {
    "login page": {200},
    "sign in": {302},
    "giveaway": {200},
    # 303: claimed (or the last code just went); 409: the page knew the pool was empty.
    "claim": {303, 409},
    "code page": {200},
    "setup": {200},
    "before opening": {200},
}
NOT_OPEN_YET = "The giveaway has not started yet."
# Seconds a maintainer waits for a page before giving up (counted as "timeout").
GIVE_UP = 60
# Every figure a report carries (the short form in CI checks them all).
REPORT_FIELDS = (
    "shape",
    "database",
    "workers",
    "threads",
    "arrivals",
    "phases",
    "offered",
    "offered_rate",
    "elapsed",
    "completed",
    "steps",
    "end_to_end",
    "client_lag",
    "statuses",
    "errors",
    "server_errors",
    "pool",
    "codes_shown",
    "claimed",
    "receipts",
    "problems",
    "worker_peak_rss_mb",
    "max_worker_rss_mb",
    "worker_cpu_s",
    "load_average",
)


def schedule(phases: list[tuple[float, float]], kind: str, rng: random.Random) -> list[float]:
    """Arrival offsets in seconds: each phase is (rate per second, seconds)."""
    times: list[float] = []
    start = 0.0
    for rate, seconds in phases:
        if rate <= 0 or seconds <= 0:
            continue
        if kind == "fixed":
            times += [start + i / rate for i in range(round(rate * seconds))]
        elif kind == "poisson":
            t = start + rng.expovariate(rate)
            while t < start + seconds:
                times.append(t)
                t += rng.expovariate(rate)
        else:
            raise ValueError(f"--arrivals must be poisson or fixed, not {kind!r}")
        start += seconds
    return times


def address(i: int) -> str:
    """Maintainer i's own (made-up, private) network address."""
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


@dataclass
class Tally:
    """What the crowd saw: latencies per step, answers, and the codes shown."""

    steps: tuple[str, ...]
    latencies: dict[str, list[float]] = field(default_factory=dict)
    end_to_end: list[float] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # type: ignore[type-arg]
    errors: Counter = field(default_factory=Counter)  # type: ignore[type-arg]
    shown: dict[int, str | None] = field(default_factory=dict)
    completed: int = 0
    last_done: float = 0.0

    def __post_init__(self) -> None:
        self.latencies = {s: [] for s in self.steps}

    def record(self, step: str, status: int | str, seconds: float) -> bool:
        self.latencies[step].append(seconds)
        self.statuses[(step, status)] += 1
        if status not in EXPECTED[step]:
            self.errors[(step, status)] += 1
            return False
        return True


class Visitor:
    """One maintainer's browser: their own cookies and address, a shared connection pool."""

    def __init__(self, http: Any, base: str, ip: str, cookies: dict[str, str] | None = None):
        self.http = http
        self.base = base
        self.ip = ip
        self.cookies = dict(cookies or {})

    async def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int | str, str, str]:
        """(status or the client's error, body, Location)."""
        import aiohttp

        headers = {"X-Forwarded-For": self.ip, "User-Agent": USER_AGENT}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            async with self.http.request(
                method, self.base + path, data=form, headers=headers, allow_redirects=False
            ) as response:
                body = await response.text()
                for header in response.headers.getall("Set-Cookie", []):
                    name, _, value = header.split(";", 1)[0].partition("=")
                    if value in ("", '""') or "01 Jan 1970" in header or "Max-Age=0" in header:
                        self.cookies.pop(name.strip(), None)
                    else:
                        self.cookies[name.strip()] = value
                return response.status, body, response.headers.get("Location", "")
        except TimeoutError:
            return "timeout", "", ""
        except aiohttp.ClientError as exc:
            return f"connection error ({exc.__class__.__name__})", "", ""


async def cold_arrival(v: Visitor, uid: int, username: str, t: Tally, due: float) -> None:
    """Sign in with a password, open the giveaway, claim, see the code, open the walkthrough."""
    status, html, _ = await v.request("GET", "/account/login?next=/giveaway")
    if not t.record("login page", status, time.perf_counter() - due):
        return
    since = time.perf_counter()
    status, _, _ = await v.request(
        "POST",
        "/account/login?next=/giveaway",
        {"csrf_token": csrf_token(html), "username": username, "password": PASSWORD},
    )
    if not t.record("sign in", status, time.perf_counter() - since):
        return
    since = time.perf_counter()
    status, html, _ = await v.request("GET", "/giveaway")
    if not t.record("giveaway", status, time.perf_counter() - since):
        return
    if not await claim_and_look(v, uid, csrf_token(html), t, time.perf_counter(), due):
        return
    since = time.perf_counter()
    status, _, _ = await v.request("GET", "/giveaway/setup")
    if t.record("setup", status, time.perf_counter() - since):
        t.completed += 1
    t.last_done = time.perf_counter()


async def opening_arrival(v: Visitor, uid: int, token: str, t: Tally, due: float) -> None:
    """Already signed in, the page open: click claim and see the code."""
    if await claim_and_look(v, uid, token, t, due, due):
        t.completed += 1
    t.last_done = time.perf_counter()


async def claim_and_look(
    v: Visitor, uid: int, token: str, t: Tally, since: float, arrived: float
) -> bool:
    """Click claim, follow the answer to the page that shows the code.

    The claim is timed from `since`, the whole visit (arrival -> code on the
    screen) from `arrived`.
    """
    status, html, location = await v.request(
        "POST", "/giveaway/claim", {"csrf_token": token, "region": "US"}
    )
    if not t.record("claim", status, time.perf_counter() - since):
        return False
    if status == 303:
        step_start = time.perf_counter()
        status, html, _ = await v.request("GET", location.split("#", 1)[0] or "/giveaway")
        if not t.record("code page", status, time.perf_counter() - step_start):
            return False
    t.shown[uid] = shown_code(html)
    t.end_to_end.append(time.perf_counter() - arrived)
    return True


Person = tuple[int, str, dict[str, str], str]  # user id, username, cookies, CSRF token


async def crowd(
    shape: str, base: str, offsets: list[float], people: list[Person], t: Tally
) -> float:
    """Start each arrival at its offset from now, never waiting for those in flight.

    Returns the moment (perf_counter) the schedule started.
    """
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=GIVE_UP)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        start = time.perf_counter()
        tasks = []
        for i, offset in enumerate(offsets):
            due = start + offset
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t.lag.append(max(0.0, time.perf_counter() - due))
            uid, username, cookies, token = people[i]
            v = Visitor(http, base, address(i), cookies)
            if shape == "cold":
                work = cold_arrival(v, uid, username, t, due)
            else:
                work = opening_arrival(v, uid, token, t, due)
            tasks.append(asyncio.create_task(work))
        await asyncio.gather(*tasks)
    return start


def signed_in(app: Any, people: list[tuple[int, str]]) -> list[tuple[dict[str, str], str]]:
    """Each person's session cookie and form token, as their browser kept them from a
    sign-in before the opening (made with the app's own session and CSRF code)."""
    import sqlalchemy as sa
    from flask import g, session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from giveaway import db
    from giveaway.accounts.models import User

    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    made = []
    with app.app_context():
        users = {u.id: u for u in db.session().scalars(sa.select(User))}
        for i, (uid, _) in enumerate(people):
            with app.test_request_context(
                "/giveaway",
                environ_base={"REMOTE_ADDR": address(i)},
                headers={"User-Agent": USER_AGENT},
            ):
                login_user(users[uid])
                session.permanent = True
                g.pop("csrf_token", None)  # Flask-WTF keeps the last token in g
                token = generate_csrf()
                made.append(({name: serializer.dumps(dict(session))}, token))
    return made


async def look_before_opening(base: str, people: list[Person], t: Tally) -> list[str]:
    """A few of the crowd open the giveaway before it opens: it must say when it opens."""
    import aiohttp

    problems = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for i, (_, _, cookies, _) in enumerate(people):
            since = time.perf_counter()
            status, html, _ = await Visitor(http, base, address(i), cookies).request(
                "GET", "/giveaway"
            )
            if t.record("before opening", status, time.perf_counter() - since) and (
                NOT_OPEN_YET not in html or "It opens on" not in html
            ):
                problems.append("the page before the opening does not say when it opens")
    return sorted(set(problems))


def run(
    shape: str = "cold",
    *,
    rate: float = 17.0,
    seconds: float = 180.0,
    later_rate: float = 0.0,
    later_seconds: float = 0.0,
    database: str = "postgresql",
    workers: int = 4,
    threads: int = 8,
    pool: int = 4000,
    arrivals: str = "poisson",
    seed: int = 1,
    redis_url: str | None = "redis://127.0.0.1:6379/12",
    pg_admin_url: str = PG_ADMIN_URL,
    opening_margin: float = 30.0,
    lookers: int = 10,
    db_pool: int | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Run one shape of the launch; returns the report (see REPORT_FIELDS)."""
    import redis

    from giveaway import create_app, db, migrate
    from giveaway.accounts import passwords

    if shape not in SHAPES:
        raise ValueError(f"the shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    if database == "sqlite":
        redis_url = None
    local_only(pg_admin_url, redis_url or "")
    phases = [(rate, seconds)] + ([(later_rate, later_seconds)] if later_rate else [])
    offsets = schedule(phases, arrivals, random.Random(seed))
    if not offsets:
        raise ValueError("no arrivals: give a positive rate and duration")
    load_before = os.getloadavg()
    if redis_url:
        redis.Redis.from_url(redis_url).flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="giveaway-launch-"))
    outbox = scratch / "outbox"
    outbox.mkdir()
    secret = "launch-" + os.urandom(16).hex()
    t = Tally(STEPS[shape])
    problems: list[str] = []
    try:
        with scratch_database(database, pg_admin_url, "giveaway_launch") as url:
            engine = db.make_engine(url, pool_size=2)
            migrate.upgrade(engine)
            ids = seed_giveaway(
                engine,
                len(offsets),
                pool,
                password_hash=passwords.hash_password(PASSWORD),
                prefix="crowd",
            )
            named = [(uid, f"crowd{i:05d}") for i, uid in enumerate(ids)]
            people: list[Person]
            opens_at = None
            if shape == "opening":
                app = create_app(
                    {"DATABASE_URL": url, "SECRET_KEY": secret, "MAIL_URL": "console:"}
                )
                sessions = signed_in(app, named)
                app.extensions["db.engine"].dispose()
                people = [(u, n, c, tok) for (u, n), (c, tok) in zip(named, sessions, strict=True)]
                opens_at = datetime.now(UTC) + timedelta(seconds=opening_margin)
            else:
                people = [(u, n, {}, "") for u, n in named]
            env = {
                "GIVEAWAY_DATABASE_URL": url,
                "GIVEAWAY_SECRET_KEY": secret,
                "GIVEAWAY_MAIL_URL": f"file://{outbox}",
                "GIVEAWAY_RATELIMIT_STORAGE_URI": redis_url or "memory://",
                # As config/defaults.py advises: a connection per thread and the courier.
                "GIVEAWAY_DATABASE_POOL_SIZE": str(db_pool or threads + 1),
                "GIVEAWAY_DATABASE_MAX_OVERFLOW": "0",
                # One proxy in front, as in production: each maintainer has an address.
                "GIVEAWAY_PROXY_FIX_HOPS": "1",
                # No internet here; the breached-password check is a network call.
                "GIVEAWAY_BREACHED_PASSWORDS_URL": "",
                "GIVEAWAY_GIVEAWAY_OPENS_AT": opens_at.isoformat() if opens_at else "",
                "PROMETHEUS_MULTIPROC_DIR": str(scratch / "metrics"),
            }
            with serve(
                "wsgi:app",
                env,
                workers=workers,
                threads=threads,
                config=ROOT / "config" / "gunicorn.conf.py",
                stderr_path=scratch / "gunicorn.log",
            ) as server:
                wait_until_ready(server.port, "/healthz", workers * threads)
                base = f"http://127.0.0.1:{server.port}"
                with MemorySampler(server.process.pid) as memory:
                    if opens_at is not None:
                        if time.time() < opens_at.timestamp():
                            problems += _run_async(look_before_opening(base, people[:lookers], t))
                        late = time.time() - opens_at.timestamp()
                        if late > 0:
                            problems.append(
                                f"the opening came {late:.1f} s before the server was ready "
                                f"and looked at (raise --opening-margin)"
                            )
                        time.sleep(max(0.0, -late) + 0.05)
                    start = _run_async(crowd(shape, base, offsets, people, t))
                    elapsed = max(t.last_done, start) - start
                    claimed = _settled_claims(engine)
                receipts = wait_for_receipts(str(outbox), claimed, timeout=60)
                server_log = (scratch / "gunicorn.log").read_text(errors="replace")
            # A maintainer who gave up waiting may still have been handed a code: the
            # count is only expected to match when everyone saw their answer.
            answered = not any(step in ("claim", "code page") for step, _ in t.errors)
            problems += claim_problems(
                engine, t.shown, expected=min(pool, len(t.shown)) if answered else None, pool=pool
            )
            problems += pool_balance(engine)
            if receipts > claimed:
                problems.append(f"{receipts} receipts written for {claimed} claimed codes")
            engine.dispose()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if redis_url:
            redis.Redis.from_url(redis_url).flushdb()

    figures = _figures(t, shape, offsets, phases, elapsed)
    peaks = memory.peak_mb()
    figures.update(
        database=database,
        workers=workers,
        threads=threads,
        arrivals=arrivals,
        pool=pool,
        codes_shown=sum(1 for c in t.shown.values() if c),
        receipts=receipts,
        claimed=claimed,
        problems=problems,
        worker_peak_rss_mb=peaks,
        max_worker_rss_mb=max(peaks.values(), default=0.0),
        worker_cpu_s=memory.cpu_used(),
        load_average={"before": load_before, "after": os.getloadavg()},
        shown=t.shown,
        server_log_errors=[
            line
            for line in server_log.splitlines()
            if any(mark in line for mark in (" ERROR ", '"ERROR"', "[ERROR]"))
        ][:10],
    )
    report(figures, log)
    return figures


def _run_async(coro: Any) -> Any:
    """asyncio.run on a thread of its own: the caller's thread may already run a loop
    (Playwright's sync API leaves one in a test process)."""
    import threading

    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # noqa: BLE001 - raised again below
            failure.append(exc)

    thread = threading.Thread(target=target, name="launch-crowd")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def _settled_claims(engine: Any, quiet: float = 2.0, limit: float = 120.0) -> int:
    """The number of claimed codes once it stops changing.

    Requests a maintainer gave up on are still in the server's queue, and
    some of them claim: wait for the queue to drain before counting receipts.
    """
    deadline = time.monotonic() + limit
    count = _claimed(engine)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = _claimed(engine)
        if now == count:
            break
        count = now
    return count


def _claimed(engine: Any) -> int:
    import sqlalchemy as sa

    from giveaway.claims.models import PromoCode

    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(PromoCode.claimed_by_id.is_not(None))
        ).scalar_one()


def _stats(values: list[float], elapsed: float) -> dict[str, float]:
    return {
        "n": len(values),
        "per_s": len(values) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(values) * 1000 if values else float("nan"),
        "p99_ms": percentile(values, 99) * 1000,
        "max_ms": max(values) * 1000 if values else float("nan"),
    }


def _figures(
    t: Tally,
    shape: str,
    offsets: list[float],
    phases: list[tuple[float, float]],
    elapsed: float,
) -> dict[str, Any]:
    steps = {}
    for step in t.steps:
        steps[step] = _stats(t.latencies[step], elapsed)
        steps[step]["5xx"] = sum(
            n
            for (s, status), n in t.statuses.items()
            if s == step and isinstance(status, int) and status >= 500
        )
        steps[step]["errors"] = sum(n for (s, _), n in t.errors.items() if s == step)
    scheduled = sum(seconds for _, seconds in phases)
    return {
        "shape": shape,
        "phases": [{"rate": r, "seconds": s} for r, s in phases],
        "offered": len(offsets),
        "offered_rate": len(offsets) / scheduled if scheduled else 0.0,
        "elapsed": elapsed,
        "completed": t.completed,
        "steps": steps,
        "end_to_end": _stats(t.end_to_end, elapsed),
        "client_lag": _stats(t.lag, elapsed),
        "statuses": {f"{s} {status}": n for (s, status), n in sorted(t.statuses.items(), key=str)},
        "errors": {f"{s} {status}": n for (s, status), n in sorted(t.errors.items(), key=str)},
        "server_errors": sum(
            n for (_, status), n in t.statuses.items() if isinstance(status, int) and status >= 500
        ),
    }


def report(f: dict[str, Any], log: Any) -> None:
    phases = " then ".join(f"{p['rate']:g}/s for {p['seconds']:g} s" for p in f["phases"])
    log(
        f"launch, {f['shape']}: {f['database']}, gunicorn {f['workers']} workers x "
        f"{f['threads']} threads; {f['arrivals']} arrivals {phases}: {f['offered']} maintainers "
        f"({f['offered_rate']:.1f}/s offered), {f['completed']} done in {f['elapsed']:.1f} s; "
        f"pool {f['pool']}, {f['codes_shown']} codes shown"
    )
    log(
        f"  {'step':<15} {'n':>6} {'per s':>7} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} 5xx errors"
    )
    rows = [
        *f["steps"].items(),
        ("arrival->code", f["end_to_end"]),
        ("client lag", f["client_lag"]),
    ]
    for name, s in rows:
        log(
            f"  {name:<15} {s['n']:>6} {s['per_s']:>7.1f} {s['p50_ms']:>9.1f} {s['p99_ms']:>9.1f} "
            f"{s['max_ms']:>9.1f} {s.get('5xx', ''):>3} {s.get('errors', ''):>6}"
        )
    log("  statuses: " + ", ".join(f"{k}: {n}" for k, n in f["statuses"].items()))
    if f["errors"]:
        log(f"  errors: {f['errors']}")
    log(f"  5xx: {f['server_errors']}")
    log(
        "  worker peak RSS (VmHWM): "
        + ", ".join(f"{mb:.0f} MB" for mb in f["worker_peak_rss_mb"].values())
        + f" (max {f['max_worker_rss_mb']:.0f} MB)"
    )
    requests = sum(s["n"] for s in f["steps"].values())
    log(
        f"  gunicorn workers' CPU: {f['worker_cpu_s']:.1f} s for {requests} requests "
        f"({1000 * f['worker_cpu_s'] / max(1, requests):.1f} ms a request, "
        f"{1000 * f['worker_cpu_s'] / max(1, f['offered']):.0f} ms an arrival)"
    )
    log(
        f"  receipts: {f['receipts']} written"
        + (
            f" ({f['claimed'] - f['receipts']} left in the outbox for `giveaway send-mail`)"
            if f["receipts"] < f["claimed"]
            else ""
        )
    )
    before, after = f["load_average"]["before"], f["load_average"]["after"]
    log(
        f"  load average before {before[0]:.2f} {before[1]:.2f}, after {after[0]:.2f} {after[1]:.2f}"
    )
    for line in f["server_log_errors"]:
        log(f"  server: {line[:300]}")
    if f["problems"]:
        log("  BROKEN RULES:\n    " + "\n    ".join(f["problems"]))
    else:
        log("  invariants: 0 violations")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("shape", choices=SHAPES)
    parser.add_argument("--rate", type=float, help="arrivals a second (cold 17, opening 55)")
    parser.add_argument("--seconds", type=float, help="for how long (cold 180, opening 60)")
    parser.add_argument("--later-rate", type=float, default=None, help="opening: after (12/s)")
    parser.add_argument("--later-seconds", type=float, default=120.0)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pool", type=int, default=4000)
    parser.add_argument("--arrivals", choices=("poisson", "fixed"), default="poisson")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--opening-margin", type=float, default=30.0)
    parser.add_argument(
        "--db-pool", type=int, help="PostgreSQL connections per worker (threads + 1)"
    )
    parser.add_argument("--pg", default=PG_ADMIN_URL)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    cold = args.shape == "cold"
    rate = args.rate if args.rate is not None else (17.0 if cold else 55.0)
    seconds = args.seconds if args.seconds is not None else (180.0 if cold else 60.0)
    later = args.later_rate if args.later_rate is not None else (0.0 if cold else 12.0)
    figures = run(
        args.shape,
        rate=rate,
        seconds=seconds,
        later_rate=later,
        later_seconds=args.later_seconds,
        database=args.database,
        workers=args.workers,
        threads=args.threads,
        pool=args.pool,
        arrivals=args.arrivals,
        seed=args.seed,
        redis_url=f"redis://127.0.0.1:6379/{args.redis_db}",
        pg_admin_url=args.pg,
        opening_margin=args.opening_margin,
        db_pool=args.db_pool,
    )
    if args.json:
        kept = {k: v for k, v in figures.items() if k != "shown"}
        args.json.write_text(json.dumps(kept, indent=2, default=str))
    bad = figures["problems"] or figures["server_errors"] or figures["errors"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
