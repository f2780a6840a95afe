"""Stampedes: many claimers at once, on SQLite and on PostgreSQL.

Each claimer is a thread with its own database connection and session calling
the claim service (and, in the HTTP test, a signed-in client of a real
threaded server). After each herd: every code went to at most one user, every
user got at most one code, exactly min(pool, claimers) codes were claimed, and
each claimant was shown the code the database holds for them.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool
from werkzeug.serving import make_server

from giveaway import clock, db, mail
from giveaway.accounts.models import User
from giveaway.claims import claim as claiming
from giveaway.claims import expiry
from giveaway.claims.models import PromoCode
from tests.conftest import make_pg_app, make_sqlite_app
from tests.factories import TEST_PASSWORD, make_batch, make_maintainers

CLAIMERS = 40


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def herd_app(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app and a session factory whose sessions each own a connection."""
    overrides = {"RATELIMIT_ENABLED": False, "DATABASE_POOL_SIZE": CLAIMERS // 2 + 2}
    if request.param == "sqlite":
        app = make_sqlite_app(tmp_path, request.getfixturevalue("sqlite_template"), **overrides)
        engine = sa.create_engine(
            app.config["DATABASE_URL"], poolclass=NullPool, connect_args={"timeout": 30}
        )
        sa.event.listen(engine, "connect", db._sqlite_pragmas)
    else:
        app = make_pg_app(tmp_path, request.getfixturevalue("pg_url"), **overrides)
        engine = sa.create_engine(app.config["DATABASE_URL"], pool_size=CLAIMERS + 2)
    maker = sessionmaker(bind=engine, expire_on_commit=False)
    yield app, maker
    engine.dispose()
    app.extensions["db.engine"].dispose()


def _run_herd(app, maker, user_ids, *, extra=None):  # type: ignore[no-untyped-def]
    """Every user id claims at once (a barrier releases them); returns (uid, status, code)."""
    parties = len(user_ids) + (1 if extra else 0)
    # A party that fails before the barrier (no database connection left) breaks it
    # after a minute: the test fails instead of waiting for ever.
    barrier = threading.Barrier(parties, timeout=60)

    def claimer(uid: int):  # type: ignore[no-untyped-def]
        with app.app_context():
            session = maker()
            try:
                user = session.get(User, uid)
                barrier.wait()
                result = claiming.claim(session, user, clock.now())
                session.commit()
                mail.discard_queue()
                return uid, result.status, result.code.code if result.code else None
            finally:
                session.close()

    def side_job():  # type: ignore[no-untyped-def]
        with app.app_context():
            session = maker()
            try:
                barrier.wait()
                outcome = extra(session)
                session.commit()
                mail.discard_queue()
                return outcome
            finally:
                session.close()

    with ThreadPoolExecutor(max_workers=parties) as pool:
        futures = [pool.submit(claimer, uid) for uid in user_ids]
        side = pool.submit(side_job) if extra else None
        results = [f.result(timeout=120) for f in futures]
        side_result = side.result(timeout=120) if side else None
    return results, side_result


def _db_claims(app) -> dict[int, str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session().execute(
            sa.select(PromoCode.claimed_by_id, PromoCode.code).where(
                PromoCode.claimed_by_id.is_not(None)
            )
        )
        return {uid: code for uid, code in rows}


def _assert_invariants(app, results, pool_size: int) -> None:  # type: ignore[no-untyped-def]
    claims = _db_claims(app)
    shown = [code for _, _, code in results if code]
    # Every code to at most one user (as shown, and as stored).
    assert len(shown) == len(set(shown)), Counter(shown).most_common(3)
    assert len(set(claims.values())) == len(claims)
    # Exactly min(pool, claimers) claimed; the rest were told the pool is empty.
    assert len(claims) == min(pool_size, len(results))
    statuses = Counter(status for _, status, _ in results)
    assert statuses["claimed"] == len(claims)
    assert statuses["empty"] == len(results) - len(claims)
    # Each claimant was shown exactly the code the database holds for them.
    for uid, status, code in results:
        if status == "claimed":
            assert claims[uid] == code
        else:
            assert uid not in claims and code is None


@pytest.mark.parametrize("pool_size", [CLAIMERS // 2, CLAIMERS + 10])
def test_herd_of_claimers(herd_app, pool_size):  # type: ignore[no-untyped-def]
    app, maker = herd_app
    make_batch(app, count=pool_size)
    users = make_maintainers(app, CLAIMERS)
    results, _ = _run_herd(app, maker, users)
    _assert_invariants(app, results, pool_size)


def test_one_user_twenty_times_at_once(herd_app):  # type: ignore[no-untyped-def]
    app, maker = herd_app
    make_batch(app, count=30)
    (uid,) = make_maintainers(app, 1)
    results, _ = _run_herd(app, maker, [uid] * 20)
    codes = {code for _, _, code in results}
    assert len(codes) == 1 and None not in codes
    statuses = Counter(status for _, status, _ in results)
    assert statuses["claimed"] == 1 and statuses["already"] == 19
    assert _db_claims(app) == {uid: codes.pop()}


def test_expiry_job_during_a_herd_hands_out_nothing_expired(herd_app):  # type: ignore[no-untyped-def]
    app, maker = herd_app
    start = clock.now()
    # Batch "old" expires in one hour; "fresh" in sixty days. The clock then
    # jumps past the first expiry before anyone (or the job) has marked it.
    make_batch(
        app, "old", codes=[f"OLD-{i:03d}" for i in range(30)], expires_at=start + timedelta(hours=1)
    )
    make_batch(app, "fresh", codes=[f"FRESH-{i:03d}" for i in range(20)])
    app.config["CLOCK"] = lambda: start + timedelta(hours=2)
    users = make_maintainers(app, CLAIMERS)

    def job(session):  # type: ignore[no-untyped-def]
        return expiry.run(session, clock.now(), reminder_days=7)

    results, summary = _run_herd(app, maker, users, extra=job)
    _assert_invariants(app, results, 20)
    assert all(code.startswith("FRESH-") for _, _, code in results if code)
    assert summary.expired == 30 and not summary.locked_out
    with app.app_context():
        old = db.session().scalars(sa.select(PromoCode).where(PromoCode.code.like("OLD-%"))).all()
        assert all(c.expired_at is not None and c.claimed_by_id is None for c in old)


# --- through HTTP ---------------------------------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


def test_herd_through_a_real_http_server(herd_app):  # type: ignore[no-untyped-def]
    app, _ = herd_app
    pool_size = CLAIMERS // 2 + 3
    make_batch(app, count=pool_size)
    user_ids = make_maintainers(app, CLAIMERS, prefix="web")
    with app.app_context():
        names = dict(db.session().execute(sa.select(User.id, User.username)).all())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        clients = {}
        for uid in user_ids:  # sign in first, one by one
            s = requests.Session()
            token = _csrf(s.get(f"{base}/account/login").text)
            r = s.post(
                f"{base}/account/login",
                data={"csrf_token": token, "username": names[uid], "password": TEST_PASSWORD},
                allow_redirects=False,
            )
            assert r.status_code == 302
            clients[uid] = (s, _csrf(s.get(f"{base}/giveaway").text))
        barrier = threading.Barrier(len(clients))

        def claim(uid: int):  # type: ignore[no-untyped-def]
            s, token = clients[uid]
            barrier.wait()
            r = s.post(
                f"{base}/giveaway/claim",
                data={"csrf_token": token, "region": "DE"},
                allow_redirects=False,
                timeout=60,
            )
            # 303 to the page with the code (or the "last code just went" message);
            # 409 when the re-check already saw an empty pool.
            assert r.status_code in (303, 409), r.status_code
            page = s.get(f"{base}/giveaway", timeout=60).text
            match = re.search(r'<code class="promo-code" id="promo-code">([^<]+)</code>', page)
            if match:
                return uid, "claimed", match.group(1)
            assert "All codes are claimed for now" in page
            return uid, "empty", None

        with ThreadPoolExecutor(max_workers=len(clients)) as executor:
            results = list(executor.map(claim, clients))
    finally:
        server.shutdown()
        thread.join()
    _assert_invariants(app, results, pool_size)
