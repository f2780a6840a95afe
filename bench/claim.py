"""Claims per second: the claim service against raw SQL, and HTTP against a bare endpoint.

    /work/main/.venv/bin/python bench/claim.py [--processes 4 --threads 8] [--claims 6400] [--http-claims 1600]

On a throwaway PostgreSQL database (created and dropped; default server
postgresql+psycopg://postgres@127.0.0.1:5432/postgres, or --pg URL), in one run:

1. raw SQL: the claim statement the service uses (the UPDATE that takes a code
   and, in the same statement, the INSERT of its event), compiled once and run
   with psycopg directly (one connection per worker, execute + commit);
2. the service: `claims.claim.claim(session, user, now)` + commit, one session
   per worker (the statement, the receipt queued; the mail transport is left
   out: the queue is discarded);
3. for information, raw SQL again with the UPDATE alone (no event): what the
   claim statement was before the event moved into it;
4. HTTP: gunicorn (-k gthread -w 2 --threads 8) on 127.0.0.1 serving the portal
   as in production, rate limits on (counted in Redis, --redis); signed-in
   clients POST /giveaway/claim (the full path: session, CSRF, the rate limit,
   the eligibility re-check, the claim, the commit; the receipt written to a
   file outbox by the courier after the response), against GET of a bare
   endpoint served by the same gunicorn;
5. for information, an endpoint of the same gunicorn that runs the claim
   statement and its commit and nothing else (no session, CSRF, eligibility
   or receipt): the most any claim path could reach on this machine.

After each phase the invariants are checked: each code to at most one user, each
user at most one code, every claimant shown the code the database holds. Every
phase is bounded in count and in time (--max-seconds); everything stays on
127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    PG_ADMIN_URL,
    claim_problems,
    gunicorn,
    percentile,
    scratch_postgres,
    seed_giveaway,
    wait_until_ready,
)
from giveaway import create_app, db, mail, migrate  # noqa: E402
from giveaway.accounts.models import User  # noqa: E402
from giveaway.claims import claim as service  # noqa: E402
from giveaway.claims.models import PromoCode  # noqa: E402

SECRET = "bench-secret-key-" + uuid.uuid4().hex


# --- setup ----------------------------------------------------------------------------


def reset_pool(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(PromoCode).values(claimed_by_id=None, claimed_at=None, receipt_queued_at=None)
        )
        conn.execute(sa.text("DELETE FROM events"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE promo_codes"))


def chunks(ids: list[int], workers: int) -> list[list[int]]:
    return [ids[i::workers] for i in range(workers)]


def _raw_sql(kind: str = "raw"):  # type: ignore[no-untyped-def]
    """The service's claim statement compiled for psycopg, and its fixed parameters.

    kind "raw-update": the UPDATE alone, without the event the service's
    statement also records (what the claim statement was before 2026-11-21).
    """
    from sqlalchemy.dialects import postgresql

    if kind == "raw-update":
        stmt = service.take_a_code("postgresql").returning(PromoCode.id, PromoCode.code)
    else:
        stmt = service.claim_statement("postgresql")
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[attr-defined]
    fixed = {k: v for k, v in compiled.params.items() if k not in ("claimant_id", "claim_now")}
    return str(compiled), fixed


def _thread_body(kind: str, url: str, my_ids: list[int], app, barrier, max_seconds: float):  # type: ignore[no-untyped-def]
    """One worker: connect, wait for everyone, then claim for each of its users in turn."""
    shown: dict[int, str | None] = {}
    latencies: list[float] = []
    if kind in ("raw", "raw-update"):
        sql, fixed = _raw_sql(kind)
        dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(dsn)
        barrier.wait()
        deadline = time.time() + max_seconds
        with conn:
            for uid in my_ids:
                if time.time() > deadline:
                    break
                t0 = time.perf_counter()
                now = datetime.now(UTC).replace(tzinfo=None)
                row = conn.execute(sql, dict(fixed, claimant_id=uid, claim_now=now)).fetchone()
                conn.commit()
                latencies.append(time.perf_counter() - t0)
                shown[uid] = row[1] if row else None  # (id, code, …) in both statements
        return shown, latencies, time.time()
    with app.app_context():
        # One connection per worker for the whole run, as in the raw SQL phase.
        conn = app.extensions["db.engine"].connect()
        session = app.extensions["db.sessionmaker"](bind=conn)
        users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(my_ids)))}
        session.commit()
        barrier.wait()
        deadline = time.time() + max_seconds
        for uid in my_ids:
            if time.time() > deadline:
                break
            t0 = time.perf_counter()
            result = service.claim(session, users[uid], datetime.now(UTC))
            session.commit()
            mail.discard_queue()  # the receipt is rendered after commit; not measured here
            latencies.append(time.perf_counter() - t0)
            shown[uid] = result.code.code if result.code else None
        session.close()
        conn.close()
    return shown, latencies, time.time()


def _process_main(kind, url, id_chunks, barrier, queue, max_seconds):  # type: ignore[no-untyped-def]
    app = None
    if kind == "service":
        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET,
                "DATABASE_POOL_SIZE": len(id_chunks) + 2,
                "MAIL_URL": "console:",
            }
        )
    with ThreadPoolExecutor(max_workers=len(id_chunks)) as pool:
        futures = [
            pool.submit(_thread_body, kind, url, c, app, barrier, max_seconds) for c in id_chunks
        ]
        queue.put([f.result() for f in futures])


def run_workers(
    kind: str, url: str, ids: list[int], processes: int, threads: int, max_seconds: float
):  # type: ignore[no-untyped-def]
    """`processes` x `threads` workers claim for `ids` at once; returns (results, elapsed)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes * threads + 1)
    queue = ctx.Queue()
    per_worker = chunks(ids, processes * threads)
    procs = [
        ctx.Process(
            target=_process_main,
            args=(
                kind,
                url,
                per_worker[p * threads : (p + 1) * threads],
                barrier,
                queue,
                max_seconds,
            ),
        )
        for p in range(processes)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)
    start = time.time()
    results = []
    for _ in procs:
        results.extend(queue.get(timeout=max_seconds + 60))
    for proc in procs:
        proc.join(timeout=30)
    elapsed = max(end for _, _, end in results) - start
    return [(shown, lat) for shown, lat, _ in results], elapsed


def gunicorn_env(url: str, outbox: str, redis_url: str) -> dict[str, str]:
    return {
        "GIVEAWAY_DATABASE_URL": url,
        "GIVEAWAY_SECRET_KEY": SECRET,
        "GIVEAWAY_MAIL_URL": f"file://{outbox}",
        "GIVEAWAY_DATABASE_POOL_SIZE": "10",
        # 8 request threads and the courier per worker: no overflow (the server is shared).
        "GIVEAWAY_DATABASE_MAX_OVERFLOW": "0",
        # As in production: the limits on, shared in Redis (each client claims once,
        # so none is refused; every claim still pays for the check).
        "GIVEAWAY_RATELIMIT_ENABLED": "true",
        "GIVEAWAY_RATELIMIT_STORAGE_URI": redis_url,
    }


def empty_redis(redis_url: str) -> None:
    """Start from no counts (the benchmark's own Redis database)."""
    import redis

    redis.Redis.from_url(redis_url, socket_connect_timeout=2).flushdb()


def session_cookies(app, ids: list[int]) -> dict[int, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """A signed-in session cookie and its CSRF token per user, made with the secret key
    (signing in with argon2 thousands of times would measure the password hash)."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    serializer = app.session_interface.get_signing_serializer(app)
    out = {}
    with app.test_request_context():
        for uid in ids:
            session.clear()
            token = generate_csrf()
            data = dict(session)
            data.update({"_user_id": f"{uid}:0", "_fresh": True, "_permanent": True})
            out[uid] = (serializer.dumps(data), token)
            from flask import g

            g.pop("csrf_token", None)
    return out


def run_threads(workers: int, target, args_per_worker, max_seconds: float):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(workers + 1)
    results: list = [None] * workers

    errors: list[BaseException] = []

    def wrap(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(*args_per_worker[i], deadline=time.perf_counter() + max_seconds)
        except BaseException as exc:  # noqa: BLE001 - reported below, after every thread ended
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} of {workers} clients failed; first: {errors[0]!r}")
    return results, time.perf_counter() - start


def http_phase(port: int, requests_per_worker, workers: int, max_seconds: float, bare: bool):  # type: ignore[no-untyped-def]
    def worker(items, deadline: float):  # type: ignore[no-untyped-def]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        shown = {}
        latencies = []
        for item in items:
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            if bare == "sql":
                uid = item[0]
                conn.request("POST", f"/_bench/claim-sql?uid={uid}")
                resp = conn.getresponse()
                code = resp.read().decode()
                ok = resp.status == 200
            elif bare:
                conn.request("GET", "/_bench/bare")
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            else:
                uid, (cookie, token) = item
                body = urlencode({"csrf_token": token, "region": "DE"})
                conn.request(
                    "POST",
                    "/giveaway/claim",
                    body=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": f"session={cookie}",
                    },
                )
                resp = conn.getresponse()
                resp.read()
                ok = resp.status in (303, 409)
            latencies.append(time.perf_counter() - t0)
            if not ok:
                raise RuntimeError(f"unexpected HTTP status {resp.status}")
            if bare == "sql":
                shown[item[0]] = code or None
            elif not bare:
                shown[item[0]] = None  # read back below, off the clock
        conn.close()
        return shown, latencies

    return run_threads(workers, worker, [(c,) for c in requests_per_worker], max_seconds)


def codes_shown_over_http(port: int, items) -> dict[int, str | None]:  # type: ignore[no-untyped-def]
    """What each claimant's page shows (after the timed phase)."""
    shown = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for uid, (cookie, _) in items:
        conn.request("GET", "/giveaway", headers={"Cookie": f"session={cookie}"})
        html = conn.getresponse().read().decode()
        m = re.search(r'id="promo-code">([^<]+)<', html)
        shown[uid] = m.group(1) if m else None
    conn.close()
    return shown


def summarize(name: str, results, elapsed: float) -> dict:  # type: ignore[no-untyped-def]
    lat = sorted(x for _, ls in results for x in ls)
    n = len(lat)
    p99 = percentile(lat, 99)
    row = {
        "name": name,
        "n": n,
        "rate": n / elapsed if elapsed else 0.0,
        "median_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "p99_ms": p99 * 1000,
    }
    print(
        f"  {name:<34} {n:>6} in {elapsed:6.2f}s  {row['rate']:8.0f}/s  "
        f"median {row['median_ms']:6.2f} ms  p99 {row['p99_ms']:7.2f} ms",
        flush=True,
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=PG_ADMIN_URL)
    parser.add_argument(
        "--processes", type=int, default=4, help="worker processes (raw and service)"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per process")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument("--claims", type=int, default=6400)
    parser.add_argument("--http-claims", type=int, default=1600)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/12",
        help="the rate limits' storage for the HTTP phase (its database is emptied)",
    )
    args = parser.parse_args()
    for host in (sa.make_url(args.pg).host, sa.make_url(args.redis).host):
        if host not in ("127.0.0.1", "localhost", None):
            parser.error("the benchmark only runs against a local server")

    failures: list[str] = []
    outbox = tempfile.mkdtemp(prefix="giveaway-bench-outbox-")
    scratch = contextlib.ExitStack()
    url = scratch.enter_context(scratch_postgres(admin_url=args.pg))
    name = sa.make_url(url).database
    try:
        engine = db.make_engine(url, pool_size=4)
        migrate.upgrade(engine)
        users = max(args.claims, args.http_claims)
        ids = seed_giveaway(engine, users, users + 100)
        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET,
                "DATABASE_POOL_SIZE": 2,
                "MAIL_URL": "console:",
                "TESTING": False,
            }
        )
        print(
            f"PostgreSQL claims, {args.processes * args.threads} concurrent workers "
            f"({args.processes} x {args.threads} threads), database {name}"
        )

        def workers_phase(kind: str, label: str) -> dict:  # type: ignore[type-arg]
            """Claim for the first --claims users with `kind` workers; check the invariants."""
            reset_pool(engine)
            results, elapsed = run_workers(
                kind, url, ids[: args.claims], args.processes, args.threads, args.max_seconds
            )
            row = summarize(label, results, elapsed)
            shown = {k: v for s, _ in results for k, v in s.items()}
            failures.extend(
                f"{kind}: {p}" for p in claim_problems(engine, shown, expected=len(shown))
            )
            return row

        raw = workers_phase("raw", "raw SQL (psycopg)")
        svc = workers_phase("service", "claim service (SQLAlchemy)")
        app.extensions["db.engine"].dispose()
        bare_update = workers_phase("raw-update", "raw SQL, the UPDATE alone (info)")
        print(f"  service / raw SQL = {svc['rate'] / raw['rate']:.0%} (goal ≥ 60%)")
        print(
            f"  (service / the UPDATE alone, without the event = "
            f"{svc['rate'] / bare_update['rate']:.0%})"
        )

        if not args.skip_http:
            reset_pool(engine)
            empty_redis(args.redis)
            base = scratch.enter_context(
                gunicorn("bench.claim_wsgi:app", gunicorn_env(url, outbox, args.redis))
            )
            port = int(base.rsplit(":", 1)[1])
            wait_until_ready(port, "/_bench/bare")
            print(
                f"HTTP on gunicorn -k gthread -w 2 --threads 8, 127.0.0.1:{port}, {args.clients} clients"
            )
            items = list(session_cookies(app, ids[: args.http_claims]).items())
            # Warm both workers' pools and templates.
            http_phase(port, [[None] * 20 for _ in range(4)], 4, 10, bare=True)
            results, elapsed = http_phase(
                port,
                [[None] * (args.http_claims // args.clients)] * args.clients,
                args.clients,
                args.max_seconds,
                bare=True,
            )
            bare = summarize("bare Flask endpoint (GET)", results, elapsed)
            results, elapsed = http_phase(
                port, chunks_items(items, args.clients), args.clients, args.max_seconds, bare=False
            )
            web = summarize("claim over HTTP (POST)", results, elapsed)
            claimed_ids = [uid for s, _ in results for uid in s]
            shown = codes_shown_over_http(port, [i for i in items if i[0] in set(claimed_ids)])
            failures += [
                f"http: {p}" for p in claim_problems(engine, shown, expected=len(claimed_ids))
            ]
            reset_pool(engine)
            results, elapsed = http_phase(
                port, chunks_items(items, args.clients), args.clients, args.max_seconds, bare="sql"
            )
            floor = summarize("the claim SQL alone over HTTP (info)", results, elapsed)
            shown = {k: v for s, _ in results for k, v in s.items()}
            failures += [
                f"http-sql: {p}" for p in claim_problems(engine, shown, expected=len(shown))
            ]
            print(
                f"  HTTP claim (limits on) / the claim SQL alone over HTTP = "
                f"{web['rate'] / floor['rate']:.0%} (goal ≥ 40%)"
            )
            print(
                f"  (HTTP claim / bare = {web['rate'] / bare['rate']:.0%}; the claim SQL alone "
                f"over HTTP / bare = {floor['rate'] / bare['rate']:.0%})"
            )
        engine.dispose()
    finally:
        scratch.close()
        shutil.rmtree(outbox, ignore_errors=True)
    if failures:
        print("INVARIANT VIOLATIONS:\n  " + "\n  ".join(failures))
        return 1
    print("Invariants held in every phase: 0 violations.")
    return 0


def chunks_items(items, workers: int):  # type: ignore[no-untyped-def]
    return [items[i::workers] for i in range(workers)]


if __name__ == "__main__":
    sys.exit(main())
