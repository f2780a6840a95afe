"""Security headers, secure cookies and safe redirects."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class DatabaseInteger(IntegerConverter):
    """`<int:…>` in URLs, up to the largest id an INTEGER column holds.

    A larger number (/admin/users/99999999999999999999) is a 404 like any
    id that does not exist, not a database overflow error."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", 2**31 - 1)  # ids are INTEGER columns
        super().__init__(map, *args, **kwargs)


def bounded_url_numbers(app: Flask) -> None:
    """Call before any route is added: rules pick their converters when added."""
    app.url_map.converters["int"] = DatabaseInteger


_TOKEN_IN_PATH = re.compile(r"(/account/(?:reset|activate|verify))/[^\s?\"]+")


class RedactTokens(logging.Filter):
    """Request lines must not carry the tokens of emailed links: a reset or
    activation link in a log file would let its reader set the password."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_PATH.sub(r"\1/[token]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact_request_logs() -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())


class JSONProvider(DefaultJSONProvider):
    """JSON that nests too deeply for the parser is unreadable JSON (a 400
    from the view), not a RecursionError (a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_app(app: Flask) -> None:
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        # Flask's documented way to add WSGI middleware; its stubs declare
        # wsgi_app a method, so assigning to it is reported.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.session_interface = SessionInterface()
    app.json = JSONProvider(app)
    app.before_request(refuse_nul_characters)
    _redact_request_logs()

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if not (request.endpoint or "").endswith("static"):
            # Pages can show codes and personal data: never keep them in caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


NUL_MESSAGE = lazy_gettext(
    "The form contained a NUL character (an invisible control character) that no field "
    "accepts. Remove it, or type the text instead of pasting it, and try again."
)


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                return True
    if not request.is_json:
        return False
    # A raw NUL byte is not JSON at all (the view says it cannot read it); an
    # escaped one is a NUL once parsed: look at every string.
    stack = [request.get_json(silent=True)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class FriendlyBadRequest(BadRequest):
    """A 400 whose description is written for the visitor (the error page shows it)."""

    friendly = True


def refuse_nul_characters() -> Response | None:
    """Refuse any text with a NUL character before a view sees it.

    No field has a use for one, and PostgreSQL cannot store one in a text
    column nor even compare with it: a search or a sign-in with a NUL would
    end in a database error (a 500). Uploaded files are checked by their
    importers (which say which line is wrong)."""
    if not _has_nul():
        return None
    if request.is_json:
        response = jsonify({"error": str(NUL_MESSAGE)})
        response.status_code = 400
        return response
    raise FriendlyBadRequest(str(NUL_MESSAGE))


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`."""
    if not target:
        return default
    target = target.strip()
    # Browsers treat backslashes as slashes: "/\evil.example" leaves the site.
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    return target
