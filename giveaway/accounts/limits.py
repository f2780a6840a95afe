"""Rate limits per account, beside the limits per address.

A limit per address alone lets many addresses (a botnet, or forwarded headers
behind a proxy) share the guesses at one account: ten addresses pushed 54 wrong
passwords at one account in a minute. These keys name the account a request
is about, so its attempts are counted together wherever they come from.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, request
from flask_limiter import RouteLimit
from flask_login import current_user
from limits import RateLimitItem, parse_many
from limits.storage import RedisClusterStorage, RedisStorage
from werkzeug.exceptions import TooManyRequests

from giveaway.extensions import limiter
from giveaway.inputs import caseless

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# Longer names are refused by the forms anyway; the key need not hold more.
_KEY_LENGTH = 254


def _named(field: str) -> str:
    value = request.form.get(field, "")[: _KEY_LENGTH * 2]
    return caseless(value.strip())[:_KEY_LENGTH]


def sign_in_key() -> str:
    """The account a sign-in names (a username that does not exist counts too)."""
    return f"account:sign-in:{_named('username')}"


def reset_key() -> str:
    """The account a password-reset request names, by username or address."""
    return f"account:reset:{_named('identifier')}"


def signed_in_key() -> str:
    return f"account:user:{current_user.id}" if current_user.is_authenticated else "account:anon"


def per_account(setting: str, key_func: Callable[[], str]) -> RouteLimit:
    """A POST limit from `setting`, counted per account as `key_func` names it.

    Every attempt counts, as for the limit per address (counting only failures
    would be checked after the answer, and races let a burst through).
    """
    return limiter.limit(lambda: current_app.config[setting], key_func=key_func, methods=["POST"])


# Each decorates one view (a limit is kept per view and key).
sign_in_limit = per_account("RATELIMIT_LOGIN", sign_in_key)
reset_limit = per_account("RATELIMIT_PASSWORD_RESET", reset_key)
change_password_limit = per_account("RATELIMIT_LOGIN", signed_in_key)
resend_limit = per_account("RATELIMIT_PASSWORD_RESET", signed_in_key)


# --- limits checked in one round trip ---------------------------------------------------

# Every fixed window of a limit ("10/minute;40/hour") counted, and read back, in
# one call to Redis: KEYS are the windows' counters, tightest first; ARGV holds
# each window's allowance and length in seconds. Like Flask-Limiter's fixed
# windows (INCRBY, EXPIRE on the first hit), stopping at the first window
# breached, which then stays uncounted in the longer ones. Returns the count
# and the seconds left of each window counted.
_COUNT_WINDOWS = """
local counted = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCRBY', key, 1)
  if count == 1 then
    redis.call('EXPIRE', key, ARGV[2 * i])
  end
  counted[#counted + 1] = count
  counted[#counted + 1] = redis.call('TTL', key)
  if count > tonumber(ARGV[2 * i - 1]) then
    break
  end
end
return counted
"""
_SCRIPT = "accounts.limits.count_windows"


class Breached(TooManyRequests):
    """A rate limit refused the request; Retry-After says when the window ends."""


def _windows(setting: str, key: str) -> list[tuple[RateLimitItem, str]]:
    items = sorted(parse_many(current_app.config[setting]), key=lambda item: item.get_expiry())
    return [(item, item.key_for(key, request.endpoint or "")) for item in items]


def _count_in_redis(storage: RedisStorage, windows: list[tuple[RateLimitItem, str]]) -> int | None:
    """Count the request in every window at once; seconds to wait when one is full."""
    script = current_app.extensions.get(_SCRIPT)
    if script is None or script[0] is not storage:
        script = (storage, storage.get_connection().register_script(_COUNT_WINDOWS.encode()))
        current_app.extensions[_SCRIPT] = script
    args: list[int] = []
    for item, _ in windows:
        args += [item.amount, item.get_expiry()]
    # Under the storage's prefix, as Flask-Limiter's own counters (its reset finds them).
    keys = [storage.prefixed_key(key) for _, key in windows]
    counted = script[1](keys=keys, args=args)
    for (item, _), count, ttl in zip(windows, counted[::2], counted[1::2], strict=False):
        if int(count) > item.amount:
            return max(1, int(ttl))
    return None


def _count_elsewhere(windows: list[tuple[RateLimitItem, str]]) -> int | None:
    """The same count with Flask-Limiter's own strategy (memory storage: no round trip)."""
    for item, key in windows:
        if not limiter.limiter.hit(item, key):
            reset_at, _ = limiter.limiter.get_window_stats(item, key)
            return max(1, math.ceil(reset_at - time.time()))
    return None


def check_in_one_trip(setting: str, key_func: Callable[[], str]) -> None:
    """Count this request against the limits in `setting` under `key_func()`'s key;
    raise Breached when one is full. One Redis call for all the windows.

    Fails open like the other limits: a storage that is down or hangs (bounded
    by RATELIMIT_STORAGE_TIMEOUT) lets the request through, with a warning.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not limiter.initialized:
        return
    windows = _windows(setting, key_func())
    try:
        storage = limiter.storage
        # A cluster spreads the windows' keys over nodes: one script cannot reach them all.
        if isinstance(storage, RedisStorage) and not isinstance(storage, RedisClusterStorage):
            wait = _count_in_redis(storage, windows)
        else:
            wait = _count_elsewhere(windows)
    except Exception:  # noqa: BLE001 - fail open, as RATELIMIT_SWALLOW_ERRORS does
        log.warning("rate limit storage unavailable: %s not checked", setting, exc_info=True)
        return
    if wait is not None:
        log.info(
            "ratelimit %s (%s) exceeded at endpoint: %s", setting, windows[0][1], request.endpoint
        )
        raise Breached(retry_after=wait)


def in_one_trip(setting: str, key_func: Callable[[], str]) -> Callable[[F], F]:
    """A POST limit from `setting` per `key_func`, checked in one round trip
    (`check_in_one_trip`): for the hot paths, where each round trip shows."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if request.method == "POST":
                check_in_one_trip(setting, key_func)
            return view(*args, **kwargs)

        return cast(F, limited)

    return decorate
