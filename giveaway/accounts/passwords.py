"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)

# argon2id at OWASP's recommended parameters: 19 MiB, 2 passes, 1 lane. One
# verification costs about 0.14x the library's default (64 MiB, 3 passes, 4
# lanes), which is what lets sign-in keep up with a launch's arrival rate on a
# small machine; docs/benchmarks.md ("Launch") has the measurements behind the
# choice. Hashes made at other parameters are re-made at these at the next
# successful sign-in (needs_rehash).
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM, type=Type.ID
)
# Verified against when the username is unknown, so both failures take as long:
# made by the same hasher, it costs exactly what a real verification costs.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MAX_LENGTH = 1024


def _hand_hash_memory_back() -> bool:
    """Have glibc give each hash's memory back to the system when the hash is done.

    glibc raises its mmap threshold after the first large block is freed, so
    later 19 MiB blocks come from per-thread arenas and stay there: 8 threads
    that each hashed once keep 8 x 19 MiB (measured: 165 MB against 13 MB
    with the threshold fixed). A fixed threshold of 1 MiB maps each block on
    its own and unmaps it on free, so a worker holds at most
    PASSWORD_HASH_CONCURRENCY blocks at a time. No-op off glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024))
    except (OSError, AttributeError):
        return False


_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
_hand_hash_memory_back()

# Outside a request (a script, a test without an app) hashes share this one.
_DEFAULT_SLOTS = threading.BoundedSemaphore(2)


class Busy(ServiceUnavailable):
    """Every hashing slot of this process stayed taken for PASSWORD_HASH_TIMEOUT."""

    description = lazy_gettext(
        "The portal is very busy right now: please try again in a moment. Nothing was changed."
    )
    retry_after_seconds = 5


def _slots() -> threading.BoundedSemaphore:
    """This process's hashing slots: PASSWORD_HASH_CONCURRENCY at once.

    Each argon2 computation holds MEMORY_KIB for its duration, so bounding how
    many run at once bounds a worker's memory whatever its thread count.
    """
    if not has_app_context():
        return _DEFAULT_SLOTS
    extensions = current_app.extensions
    slots = extensions.get("passwords.slots")
    if slots is None:
        size = max(1, int(current_app.config["PASSWORD_HASH_CONCURRENCY"]))
        # setdefault is atomic: two first requests at once share one semaphore.
        slots = extensions.setdefault("passwords.slots", threading.BoundedSemaphore(size))
    return slots


@contextmanager
def _slot() -> Iterator[None]:
    """Wait (boundedly) for a hashing slot; raises Busy when none frees up in time."""
    timeout = float(current_app.config["PASSWORD_HASH_TIMEOUT"]) if has_app_context() else 60.0
    slots = _slots()
    if not slots.acquire(timeout=timeout):
        log.warning("no password-hashing slot free within %.1f s: answering busy", timeout)
        raise Busy(retry_after=Busy.retry_after_seconds)
    try:
        yield
    finally:
        slots.release()


def hash_password(password: str) -> str:
    with _slot():
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    with _slot():
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made at other parameters (or another variant) than ours."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def too_short_message() -> str:
    length = current_app.config["PASSWORD_MIN_LENGTH"]
    return ngettext("Use at least %(num)s character.", "Use at least %(num)s characters.", length)


def problems(
    password: str, *, username: str = "", email: str = "", check_breach: bool = True
) -> list[str]:
    """Every reason `password` is not acceptable (empty when it is fine).

    The breach check runs last and only for a password that passes the rest.
    """
    found = []
    if len(password) < current_app.config["PASSWORD_MIN_LENGTH"]:
        found.append(too_short_message())
    if len(password) > MAX_LENGTH:
        found.append(_("Use at most %(num)s characters.", num=MAX_LENGTH))
    lowered = password.lower()
    if username and lowered == username.lower():
        found.append(_("Your password cannot be your username."))
    if email and lowered == email.lower():
        found.append(_("Your password cannot be your email address."))
    if not found and check_breach and is_breached(password):
        found.append(
            _(
                "This password has appeared in a data breach and is known to attackers. "
                "Please choose a different one."
            )
        )
    return found


def is_breached(password: str) -> bool:
    """Ask the breached-password range API, sending only 5 hex digits of the SHA-1.

    Fails open: when the service is slow, hung or down, the password is accepted
    and a warning is logged. BREACHED_PASSWORDS_TIMEOUT bounds the whole answer,
    not only each read: a server sending a byte at a time cannot hold a sign-up.
    """
    url = current_app.config["BREACHED_PASSWORDS_URL"]
    if not url:
        return False
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:5], digest[5:]
    try:
        text = _fetch(url + prefix, float(current_app.config["BREACHED_PASSWORDS_TIMEOUT"]))
    except (requests.RequestException, TimeoutError, ValueError) as exc:
        log.warning("breached-password check unavailable, accepting the password: %s", exc)
        return False
    for line in text.splitlines():
        candidate, _sep, count = line.strip().partition(":")
        if candidate.upper() == suffix:
            try:
                return int(count or "1") > 0
            except ValueError:
                return True
    return False


# A padded range answer is about 30 KB; anything far larger is not one.
_MAX_ANSWER = 1024 * 1024


def _fetch(url: str, timeout: float) -> str:
    """The body at `url`, or an exception once `timeout` seconds have gone by in all."""
    deadline = time.monotonic() + timeout
    with requests.get(
        url,
        timeout=timeout,
        stream=True,
        headers={"Add-Padding": "true", "User-Agent": "giveaway-portal"},
    ) as response:
        response.raise_for_status()
        body = bytearray()
        # read1 returns whatever has arrived (iter_content would wait for a full chunk).
        while chunk := response.raw.read1(16384, decode_content=True):
            body += chunk
            if time.monotonic() > deadline:
                raise TimeoutError(f"no whole answer within {timeout:g} s")
            if len(body) > _MAX_ANSWER:
                raise ValueError("the answer is too large to be a range answer")
        return body.decode(response.encoding or "utf-8", "replace")
