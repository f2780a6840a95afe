"""Two portal hosts on one PostgreSQL and one Redis: the rules hold across both.

Two gunicorn instances (two workers each, Prometheus in multi-process mode)
listen on two ports, as two hosts behind one proxy would (the proxy's
X-Forwarded-For names each maintainer's address; PROXY_FIX_HOPS = 1). A herd
of maintainers signs in on one host and claims on the other; then one address
guesses a password on both hosts in turn; then both "hosts" run the cron job at
the same moment. Bounded: 16 maintainers, 10 codes, 15 guesses, two cron runs.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from bench._common import free_port, wait_until_ready
from tests.conftest import TEST_PASSWORD, make_pg_app, require
from tests.factories import make_batch, make_maintainers
from tests.ops.conftest import METRICS_TOKEN, parse, value

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/7"
USERS = 16
CODES = 10
LOGIN_LIMIT = 10
GUESSES = 15
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis unreachable at {REDIS_URL}: {exc}"
    return None


class Browser:
    """One visitor: cookies kept across hosts, coming from `address` through the proxy."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, port: int, method: str, path: str, form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Host": "localhost", "X-Forwarded-For": self.address}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.split(";", 1)[0].partition("=")
            if rest in ("", '""') or "Max-Age=0" in header:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = rest
        return response.status, text, response.headers

    def form(self, port: int, page: str, path: str, fields: dict[str, str]):  # type: ignore[no-untyped-def]
        _, html, _ = self.request(port, "GET", page)
        match = CSRF.search(html)
        assert match, f"no CSRF token on {page}"
        return self.request(
            port, "POST", path, {"csrf_token": match.group(1) or match.group(2), **fields}
        )


@contextmanager
def portal(env: dict[str, str], tmp: Path, name: str) -> Iterator[tuple[int, Path]]:
    """One host: gunicorn with the portal's config file, on a free localhost port."""
    port = free_port()
    stderr = tmp / f"{name}.log"
    multiproc = tmp / f"prometheus-{name}"
    host_env = {
        **os.environ,
        **env,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    with open(stderr, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "config/gunicorn.conf.py",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "--threads",
                "4",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=host_env,
            stdout=log,
            stderr=log,
        )
    try:
        try:
            wait_until_ready(port, workers=4)
        except RuntimeError:
            raise AssertionError(f"{name} did not start:\n{stderr.read_text()[-3000:]}") from None
        yield port, stderr
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def query(url: str, sql: str) -> list[sa.Row]:  # type: ignore[type-arg]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def scrape(port: int) -> dict:  # type: ignore[type-arg]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    assert response.status == 200, text[:500]
    return parse(text)


def test_two_hosts_share_the_pool_the_limits_and_the_cron_lock(tmp_path, pg_url):
    problem = _redis_problem()
    require(problem is None, problem or "")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_pg_app(tmp_path, pg_url)  # empties the run's database
    make_batch(app, "launch", count=CODES)
    make_batch(app, "old", count=4, expires_in=timedelta(days=-1))  # due to expire
    ids = make_maintainers(app, USERS, prefix="herd")
    app.extensions["db.engine"].dispose()
    env = {
        "GIVEAWAY_DATABASE_URL": pg_url,
        "GIVEAWAY_DATABASE_POOL_SIZE": "2",
        "GIVEAWAY_RATELIMIT_STORAGE_URI": REDIS_URL,
        "GIVEAWAY_RATELIMIT_LOGIN": f"{LOGIN_LIMIT}/minute",
        "GIVEAWAY_SECRET_KEY": "two-hosts-share-this-secret-key-for-cookies",
        "GIVEAWAY_MAIL_URL": f"file://{tmp_path / 'outbox'}",
        "GIVEAWAY_BASE_URL": "http://localhost",
        "GIVEAWAY_PROXY_FIX_HOPS": "1",
        "GIVEAWAY_METRICS_TOKEN": METRICS_TOKEN,
        "GIVEAWAY_LOG_FORMAT": "json",
        # No call out to the real breached-password service (it runs at sign-in).
        "GIVEAWAY_BREACHED_PASSWORDS_URL": "",
    }
    with ExitStack() as stack:
        port_a, log_a = stack.enter_context(portal(env, tmp_path, "a"))
        port_b, log_b = stack.enter_context(portal(env, tmp_path, "b"))
        ports = (port_a, port_b)

        # 1. The herd: sign in on one host, claim on the other, at once.
        statuses: Counter[int] = Counter()
        errors: list[str] = []
        lock = threading.Lock()

        def maintainer(i: int) -> None:
            browser = Browser(f"203.0.113.{i + 1}")
            first, second = ports[i % 2], ports[(i + 1) % 2]
            try:
                status, _, _ = browser.form(
                    first,
                    "/account/login",
                    "/account/login",
                    {"username": f"herd{i:03d}", "password": TEST_PASSWORD},
                )
                assert status in (302, 303), f"sign-in answered {status}"
                for port in (second, first) if i % 4 == 0 else (second,):
                    status, _, _ = browser.form(
                        port, "/giveaway", "/giveaway/claim", {"region": "US"}
                    )
                    with lock:
                        statuses[status] += 1
            except Exception as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(f"herd{i:03d}: {exc!r}")

        threads = [threading.Thread(target=maintainer, args=(i,)) for i in range(USERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert set(statuses) <= {303, 409}, statuses
        holders = query(
            pg_url,
            "SELECT claimed_by_id, count(*) FROM promo_codes "
            "WHERE claimed_by_id IS NOT NULL GROUP BY claimed_by_id",
        )
        assert len(holders) == CODES, holders  # the pool was handed out in full, not more
        assert all(n == 1 for _, n in holders) and {u for u, _ in holders} <= set(ids)

        # 2. One address guesses a password, turn by turn on each host: 10 in all.
        # (An account nobody signed in to yet: sign-ins are limited per account
        # too, and the herd's own sign-ins above count for theirs.)
        guesser = Browser("198.51.100.77")
        answers = [
            guesser.form(
                ports[k % 2],
                "/account/login",
                "/account/login",
                {"username": "nobody-signed-in", "password": f"wrong-guess-{k}"},
            )[0]
            for k in range(GUESSES)
        ]
        assert answers.count(429) == GUESSES - LOGIN_LIMIT, answers
        assert all(a != 429 for a in answers[:LOGIN_LIMIT]), answers

        # 3. Figures: counters add up across both hosts (and both workers of each);
        # the database's figures are the same on both.
        figures = [scrape(port) for port in ports]
        claimed = sum(
            value(f, "giveaway_claims_total", outcome="claimed", reason="") for f in figures
        )
        assert claimed == CODES
        limited = sum(
            value(f, "giveaway_rate_limited_total", endpoint="accounts.login") for f in figures
        )
        assert limited == GUESSES - LOGIN_LIMIT
        for f in figures:
            assert value(f, "giveaway_codes_available", batch="launch") == 0

        # 4. Cron on both hosts at the same moment: one does the work.
        runs = [
            subprocess.Popen(
                [str(Path(sys.executable).parent / "giveaway"), "expire-codes"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = []
        for run in runs:
            out, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
            outputs.append(out)
        expired = [
            int(m.group(1)) for out in outputs for m in re.finditer(r"(\d+) codes expired", out)
        ]
        assert sum(expired) == 4, outputs
        assert sum(1 for n in expired if n) == 1, outputs
        [(successes,)] = query(pg_url, "SELECT successes FROM job_runs WHERE name = 'expire-codes'")
        assert successes == 2  # both were on time; one found nothing left to do
        later = scrape(port_b)
        assert value(
            later, "giveaway_job_last_success_timestamp_seconds", command="expire-codes"
        ) > (time.time() - 300)

    # Each host wrote JSON lines; a claim's line carries the id of its request.
    lines = [
        json.loads(x)
        for log in (log_a, log_b)
        for x in log.read_text().splitlines()
        if x.startswith("{")
    ]
    claims = [x for x in lines if x.get("message") == "claim" and x.get("outcome") == "claimed"]
    assert len(claims) == CODES
    requests = {x["request_id"] for x in lines if x.get("endpoint") == "giveaway.claim"}
    assert all(x["request_id"] in requests for x in claims)
