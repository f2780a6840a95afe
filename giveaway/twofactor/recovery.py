"""Recovery codes: random, shown once, stored as keyed hashes, single-use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from flask import current_app

# 80 random bits each, written as four groups of four base32 letters.
CODE_BYTES = 10
_SEPARATORS = re.compile(r"[\s-]")


def generate(count: int) -> list[str]:
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    return codes


def normalize(code: str) -> str:
    """Lower case without separators; 0 and 1 (not in base32) read as o and l."""
    return _SEPARATORS.sub("", code or "").lower().replace("0", "o").replace("1", "l")


def digest(code: str) -> str:
    """HMAC-SHA256 keyed with the app's secret key.

    The codes are random (80 bits), so a fast hash is enough; the key means a
    stolen table alone is useless. Rotating SECRET_KEY voids existing codes.
    """
    key = current_app.config["SECRET_KEY"]
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(
        key_bytes, b"giveaway.recovery-code:" + normalize(code).encode(), hashlib.sha256
    ).hexdigest()


def looks_like_code(code: str) -> bool:
    return len(normalize(code)) == 16
