"""Error reports to Sentry (sentry-sdk) when SENTRY_DSN is set, scrubbed before they leave.

What must never reach the error tracker: the region answer, promo codes,
tokens of emailed links, TOTP secrets, recovery codes, passwords (and session
cookies). Two layers remove them from every event and breadcrumb:

- by name: any dictionary key that names one of them (form fields, local
  variables, headers, extra data) has its value replaced, at any depth;
- by shape: inside any text (exception messages, log messages, SQL error
  parameters), `name=value` pairs for those names, SQLAlchemy's
  "[parameters: …]" section, signed tokens, base32 secrets and anything
  shaped like a code (letters and digits, in dash-separated groups or long
  runs) are replaced.

The client addresses are not sent (send_default_pii off).
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from flask import Flask, g, has_request_context
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint
from sentry_sdk.utils import BadDsn, Dsn

FILTERED = "[Filtered]"

# Dictionary keys whose values are never sent (matched anywhere in the key).
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|region|recovery|totp|otp|promo|csrf|session|cookie"
    r"|authorization|signature|credential|api_?key|^codes?$|_codes?$|^code_|email|dsn",
    re.IGNORECASE,
)
# Keys whose values are the report's own structure, never user data.
_STRUCTURAL = frozenset(
    {
        "abs_path",
        "filename",
        "module",
        "function",
        "context_line",
        "pre_context",
        "post_context",
        "platform",
        "sdk",
        "modules",
        "event_id",
        "trace_id",
        "span_id",
        "parent_span_id",
        "timestamp",
        "start_timestamp",
        "release",
        "environment",
        "level",
        "logger",
        "type",
        "mechanism",
        "lineno",
        "in_app",
        "status_code",
        "method",
        "contexts",
    }
)
_IN_TEXT = [
    # SQLAlchemy appends the statement's parameters to its error messages.
    (re.compile(r"\[parameters: .*?\](?=\s*(\(|\[|$))", re.DOTALL), f"[parameters: {FILTERED}]"),
    # name=value, name: value and 'name': 'value' (a dict's repr) for the secrets' names.
    (
        re.compile(
            r"(?i)\b((?:\w*_)?(?:pass(?:word|wd|phrase)?|secret|token|region|code|codes|otp|totp"
            r"|recovery\w*))(['\"]?\s*[=:]\s*)(['\"]?)[^\s'\",)}\]]+\3"
        ),
        rf"\1\2{FILTERED}",
    ),
    # The tokens of emailed links, in a path or alone (itsdangerous: a.b.c).
    (re.compile(r"(/account/(?:reset|activate|verify))/[^\s?\"'/]+"), rf"\1/{FILTERED}"),
    (re.compile(r"\b[\w-]{8,}\.[\w-]{4,}\.[\w-]{8,}\b"), FILTERED),
    # base32 secrets (TOTP), possibly shown in groups of four.
    (re.compile(r"\b[A-Z2-7]{4}(?: [A-Z2-7]{4}){3,}\b"), FILTERED),
    (re.compile(r"\b[A-Z2-7]{16,}\b"), FILTERED),
    # Recovery codes: four groups of four base32 characters, even without a digit.
    (re.compile(r"(?i)\b[a-z2-7]{4}(?:[-\s][a-z2-7]{4}){3}\b"), FILTERED),
    # Codes: letters and digits in dash-separated groups (promo and recovery codes).
    (
        re.compile(
            r"\b(?=[A-Za-z0-9-]*[0-9])(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+\b"
        ),
        FILTERED,
    ),
    # Long runs mixing letters and digits (codes without dashes, hashes, keys).
    (re.compile(r"\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{10,}\b"), FILTERED),
]


def scrub_text(text: str) -> str:
    for pattern, replacement in _IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, key: str | None = None) -> Any:
    """`value` with every secret removed (a new object; dicts and lists are copied)."""
    if key is not None and key in _STRUCTURAL:
        return value
    if key is not None and _SECRET_KEY.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def before_send(event: Event, hint: Hint) -> Event:
    clean = scrub(event)
    if has_request_context() and "request_id" in g:
        # The same id as the request's log lines and its X-Request-ID header
        # (after scrubbing: it is random, and would look like a token).
        clean.setdefault("tags", {})["request_id"] = g.request_id
    return clean


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb:
    return scrub(crumb)


def check_settings(config: Any) -> None:
    try:
        rate = float(config["SENTRY_TRACES_SAMPLE_RATE"])
    except (TypeError, ValueError):
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ValueError(
            "SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1, "
            f"not {config['SENTRY_TRACES_SAMPLE_RATE']!r}."
        )
    dsn = str(config.get("SENTRY_DSN") or "")
    if dsn:
        try:
            Dsn(dsn)
        except BadDsn as exc:
            raise ValueError(f"SENTRY_DSN is not a Sentry DSN ({exc}).") from exc


def init_app(app: Flask) -> None:
    dsn = str(app.config.get("SENTRY_DSN") or "")
    if not dsn:
        return
    denylist = [
        *DEFAULT_DENYLIST,
        "region",
        "code",
        "codes",
        "promo_code",
        "totp_secret",
        "recovery_code",
        "recovery_codes",
        "email",
    ]
    sentry_sdk.init(
        dsn=dsn,
        environment=str(app.config["SENTRY_ENVIRONMENT"]),
        release=str(app.config["SENTRY_RELEASE"]) or None,
        integrations=[FlaskIntegration()],
        # Personal data stays off (the default of this SDK version: no client
        # addresses, cookies or user details). Request bodies are forms holding
        # passwords and the region: never sent.
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=denylist, recursive=True),
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=float(app.config["SENTRY_TRACES_SAMPLE_RATE"]),
    )
    app.extensions["sentry"] = True
