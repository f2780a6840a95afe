"""What a sign-in costs beside the password hash it must compute.

    .venv/bin/python bench/signin.py [--signins 200] [--database sqlite|postgresql] [--profile] 2>/dev/null
    .venv/bin/python bench/signin.py --candidates [--verifies 20]

In one process and one run: the CPU time of one argon2id verification at the
portal's parameters (giveaway/accounts/passwords.py), and the CPU time of a
whole sign-in request (POST /account/login through Flask's test client, the
rate limits on, the form, the CSRF check, the account lookup, the hash, the
event, the session), interleaved so both see the same machine. Prints the
ratio sign-in / verify (the goal: at most 1.5). CPU time of this thread, not
wall time, so other work on the machine does not count.

Each sign-in is a different maintainer from a different address (the limits
per account and per address stay at their configured values). The
breached-password check is off (no internet here; it is a network wait, not
CPU). `--profile` prints where a sign-in's CPU goes, the hash included. The
request log lines (INFO, as in production: their cost counts) go to stderr.

`--candidates` measures one verification's CPU time at each candidate set of
argon2id parameters (the library's defaults, OWASP's two equivalent
recommendations, and neighbours), to choose the portal's.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    PG_ADMIN_URL,
    csrf_token,
    scratch_database,
    seed_giveaway,
)

PASSWORD = "sign-in-bench-passphrase"
# (name, memory KiB, passes, lanes)
CANDIDATES = (
    ("argon2-cffi's defaults (RFC 9106 low-memory)", 65536, 3, 4),
    ("OWASP: 46 MiB, 1 pass", 47104, 1, 1),
    ("OWASP: 19 MiB, 2 passes (chosen)", 19456, 2, 1),
    ("19 MiB, 3 passes", 19456, 3, 1),
    ("12 MiB, 3 passes (OWASP's floor)", 12288, 3, 1),
)


def candidates(verifies: int = 20, log: Any = print) -> dict[str, float]:
    """CPU ms of one verification at each candidate, measured here and now."""
    from argon2 import PasswordHasher

    found = {}
    for name, memory, passes, lanes in CANDIDATES:
        hasher = PasswordHasher(time_cost=passes, memory_cost=memory, parallelism=lanes)
        made = hasher.hash(PASSWORD)
        hasher.verify(made, PASSWORD)
        t0 = time.process_time()
        for _ in range(verifies):
            hasher.verify(made, PASSWORD)
        found[name] = (time.process_time() - t0) / verifies * 1000
        log(f"  {name:<48} m={memory:>5} KiB t={passes} p={lanes}: {found[name]:6.1f} ms CPU")
    return found


def run(
    signins: int = 200,
    *,
    database: str = "sqlite",
    pg_admin_url: str = PG_ADMIN_URL,
    profile: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    from giveaway import create_app, db, migrate
    from giveaway.accounts import passwords

    with scratch_database(database, pg_admin_url, "giveaway_signin") as url:
        engine = db.make_engine(url, pool_size=2)
        migrate.upgrade(engine)
        made = passwords.hash_password(PASSWORD)
        seed_giveaway(engine, signins, 0, password_hash=made, prefix="signin")
        engine.dispose()
        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "signin-bench-" + "x" * 32,
                "MAIL_URL": "console:",
                "BREACHED_PASSWORDS_URL": "",
            }
        )
        verify_cpu: list[float] = []
        signin_cpu: list[float] = []
        statuses: dict[int, int] = {}
        profiler = cProfile.Profile() if profile else None
        for i in range(signins):
            with app.app_context():
                t0 = time.thread_time()
                ok = passwords.verify_password(made, PASSWORD)
                verify_cpu.append(time.thread_time() - t0)
            assert ok
            client = app.test_client()
            environ = {"REMOTE_ADDR": f"10.1.{i >> 8 & 255}.{i & 255}"}
            page = client.get("/account/login", environ_base=environ).get_data(as_text=True)
            form = {
                "csrf_token": csrf_token(page),
                "username": f"signin{i:05d}",
                "password": PASSWORD,
            }
            if profiler is not None:
                profiler.enable()
            t0 = time.thread_time()
            response = client.post("/account/login", data=form, environ_base=environ)
            signin_cpu.append(time.thread_time() - t0)
            if profiler is not None:
                profiler.disable()
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        app.extensions["db.engine"].dispose()

    # The first few warm caches (templates, statements): leave them out.
    warm = max(1, signins // 10)
    verify, signin = verify_cpu[warm:], signin_cpu[warm:]
    figures = {
        "database": database,
        "signins": signins,
        "parameters": f"m={passwords.MEMORY_KIB} KiB, t={passwords.TIME_COST}, "
        f"p={passwords.PARALLELISM}",
        "verify_ms": statistics.median(verify) * 1000,
        "signin_ms": statistics.median(signin) * 1000,
        "ratio": statistics.median(signin) / statistics.median(verify),
        "ratio_of_means": statistics.fmean(signin) / statistics.fmean(verify),
        "statuses": statuses,
    }
    log(
        f"sign-in on {database}, argon2id {figures['parameters']}, {signins} sign-ins "
        f"(first {warm} left out): one verify {figures['verify_ms']:.1f} ms CPU, one sign-in "
        f"{figures['signin_ms']:.1f} ms CPU (medians): sign-in / verify = "
        f"{figures['ratio']:.2f} (means: {figures['ratio_of_means']:.2f}); answers {statuses}"
    )
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
        stats.print_stats(25)
        stats.print_callers(r"threading.py:\d+\(start\)|key_count|has_2fa")
        text = re.sub(r"/\S*/site-packages/", "", out.getvalue())
        log(text.replace(str(ROOT) + "/", ""))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--signins", type=int, default=200)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg", default=PG_ADMIN_URL)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--candidates", action="store_true")
    parser.add_argument("--verifies", type=int, default=20)
    args = parser.parse_args()
    if args.candidates:
        candidates(args.verifies)
        return 0
    figures = run(args.signins, database=args.database, pg_admin_url=args.pg, profile=args.profile)
    return 0 if figures["statuses"] == {302: args.signins} else 1


if __name__ == "__main__":
    sys.exit(main())
