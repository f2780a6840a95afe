"""Password hashing: the parameters, the upgrade at sign-in, the bounded slots."""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import PasswordHasher, extract_parameters

from giveaway import db
from giveaway.accounts import passwords
from giveaway.accounts.models import User
from tests.accounts.conftest import page_text
from tests.conftest import login
from tests.factories import TEST_PASSWORD, events_of, make_user

# What `argon2-cffi` hashed with before: its own defaults (64 MiB, 3 passes, 4 lanes).
OLD_HEAVY_HASH = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(TEST_PASSWORD)


def _stored_hash(app, username: str) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = db.session().query(User).filter_by(username=username).one()
        return user.password_hash


def test_new_hashes_are_argon2id_at_the_chosen_parameters(app):
    with app.app_context():
        made = passwords.hash_password("a-long-enough-passphrase")
    params = extract_parameters(made)
    assert made.startswith("$argon2id$")
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)
    assert not passwords.needs_rehash(made)


def test_an_unknown_user_costs_a_verification_at_the_same_parameters():
    """The dummy hash an unknown username is checked against is one of ours."""
    assert extract_parameters(passwords._DUMMY_HASH) == extract_parameters(
        passwords.hash_password("anything-at-all-here")
    )


def test_a_hash_that_cannot_be_read_needs_rehashing():
    assert passwords.needs_rehash("not an argon2 hash")


def test_an_old_hash_is_upgraded_at_the_next_sign_in(any_app):
    make_user(any_app, "alice", password_hash=OLD_HEAVY_HASH)
    assert passwords.needs_rehash(OLD_HEAVY_HASH)

    # A wrong password changes nothing.
    assert login(any_app.test_client(), "alice", "a-wrong-passphrase").status_code == 401
    assert _stored_hash(any_app, "alice") == OLD_HEAVY_HASH

    assert login(any_app.test_client(), "alice", TEST_PASSWORD).status_code == 302
    upgraded = _stored_hash(any_app, "alice")
    assert upgraded != OLD_HEAVY_HASH
    params = extract_parameters(upgraded)
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)
    # The same password still signs in, against the new hash.
    assert login(any_app.test_client(), "alice", TEST_PASSWORD).status_code == 302
    assert _stored_hash(any_app, "alice") == upgraded


@pytest.mark.config(PASSWORD_HASH_CONCURRENCY=2)
def test_no_more_hashes_run_at_once_than_the_setting_allows(app, monkeypatch):
    running = 0
    most = 0
    lock = threading.Lock()
    real = passwords._hasher

    class Counting:
        def verify(self, password_hash: str, password: str) -> bool:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            try:
                time.sleep(0.02)
                return real.verify(password_hash, password)
            finally:
                with lock:
                    running -= 1

    monkeypatch.setattr(passwords, "_hasher", Counting())
    made = real.hash(TEST_PASSWORD)
    answers: list[bool] = []

    def sign_in() -> None:
        with app.app_context():
            answers.append(passwords.verify_password(made, TEST_PASSWORD))

    threads = [threading.Thread(target=sign_in) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [True] * 8
    assert most == 2


@pytest.mark.config(PASSWORD_HASH_CONCURRENCY=1, PASSWORD_HASH_TIMEOUT=0.05)
def test_a_sign_in_that_finds_every_slot_taken_is_told_to_come_back(app, client):
    make_user(app, "alice")
    with app.app_context():
        slots = passwords._slots()
    assert slots.acquire(timeout=1)  # another sign-in holds the only slot
    try:
        response = login(client, "alice")
    finally:
        slots.release()
    assert response.status_code == 503
    # At least our 5 s; Flask-Limiter raises it to the end of the sign-in limit's window.
    assert int(response.headers["Retry-After"]) >= passwords.Busy.retry_after_seconds
    assert "very busy right now: please try again in a moment" in page_text(response)
    # Nothing was written, and the person is not signed in.
    assert events_of(app, "login:failure") == []
    assert events_of(app, "login:success") == []
    assert client.get("/account/").status_code == 302
    # Once the slot is free, the same sign-in goes through.
    assert login(client, "alice").status_code == 302


MEMORY_PROBE = """
import re, threading
from giveaway.accounts import passwords

def rss_mib():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\\s+(\\d+)", status).group(1)) / 1024

made = passwords.hash_password("a-long-enough-passphrase")
before = rss_mib()

def sign_ins():
    for _ in range(3):
        assert passwords.verify_password(made, "a-long-enough-passphrase")

threads = [threading.Thread(target=sign_ins) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(rss_mib() - before)
"""


def test_a_worker_keeps_no_hash_memory_once_its_threads_are_done():
    """8 threads that each verified keep no 19 MiB block each (glibc's arenas would)."""
    import subprocess
    import sys

    grown = float(
        subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE], capture_output=True, text=True, check=True
        ).stdout
    )
    # Two blocks may still be mapped at the very end; eight would be ~152 MiB.
    assert grown < 2 * passwords.MEMORY_KIB / 1024 + 10
