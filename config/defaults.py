"""Default settings of the portal.

Every setting the portal reads is named here with its default. Override them
with a Python file named by GIVEAWAY_SETTINGS, then with environment variables
prefixed GIVEAWAY_ (GIVEAWAY_DATABASE_URL=..., values parsed as JSON when they
can be: GIVEAWAY_ELIGIBLE_REGIONS='["US", "CA"]').
"""

# The app refuses to start with this key outside debug and testing.
SECRET_KEY = "dev-only-not-secret"

# SQLAlchemy URL; empty means SQLite in the instance folder (giveaway.sqlite3).
DATABASE_URL = ""
DATABASE_ECHO = False
# PostgreSQL connections per worker process: DATABASE_POOL_SIZE kept open, up to
# DATABASE_MAX_OVERFLOW more under load (None: as many as the pool size). Size
# them so that hosts x workers x (pool + overflow), plus cron, stays below the
# server's max_connections (100 by default): with gunicorn -w 4 --threads 8,
# a pool of 9 (8 threads and the mail courier) and an overflow of 0 use 36
# connections a host. The defaults (10 + 10) allow 80 a host: two hosts can
# exhaust a default PostgreSQL, which then refuses connections (503 pages and a
# log line naming these settings).
DATABASE_POOL_SIZE = 10
DATABASE_MAX_OVERFLOW = None
# Seconds a request waits for a free pooled connection, and for the server to
# accept a new one, before it gets the "busy" or "unavailable" page.
DATABASE_POOL_TIMEOUT = 10.0
DATABASE_CONNECT_TIMEOUT = 5.0
# SQLite (the embedded default): seconds a writer waits for the write lock
# before giving up with a "busy, try again" page. Write transactions are a few
# milliseconds; under a launch stampede on one machine they queue. Keep it below
# gunicorn's worker timeout (30 s).
SQLITE_BUSY_TIMEOUT = 20.0

# Where mail goes: smtp://user:pass@host:port (STARTTLS when the server offers
# it, or smtps:// for implicit TLS), file:///dir (one .eml a message) or
# console:. Empty means file:// in the instance folder's outbox/.
# smtp query parameters: tls=required (never send without STARTTLS) or tls=off,
# cafile=/path/ca.pem (trust a private certificate authority), timeout=SECONDS
# (default MAIL_TIMEOUT). Quote special characters in the password (%40 for @).
MAIL_URL = ""
# "background": a web request's mail is sent by a thread after the response
# (what is left when a process stops is sent by `giveaway send-mail`);
# "inline": sent before the response. Commands always send inline.
MAIL_DELIVERY = "background"
MAIL_FROM = "Security Key Giveaway <giveaway@localhost>"
MAIL_TIMEOUT = 10

# The public address of the portal, used in emailed links.
BASE_URL = "http://localhost:5000"
# Names, used as they are in every language (pages and mail put them in whole
# translated sentences: "On %(index_name)s, …", "Auf %(index_name)s …"), so
# each must be a proper name, not a phrase ("the package index" read
# "auf the package index" in German).
SITE_NAME = "Security Key Giveaway"
INDEX_NAME = "PyPI"
SUPPORT_EMAIL = "admin@localhost"

# Languages (giveaway/i18n). LANGUAGES lists the locales the portal offers, the
# default first: English, plus each locale whose catalog in giveaway/translations/
# is complete (the test command refuses a shipped catalog with a message
# missing). Pages speak the account's choice, else the browser's; mail speaks
# the recipient's choice, else their browser's at their last sign-in, else
# BABEL_DEFAULT_LOCALE (README, "Languages").
LANGUAGES = ["en", "de", "fr", "it", "ja", "es", "nl"]
BABEL_DEFAULT_LOCALE = "en"
# The time zone dates and times are shown in (an IANA name); empty means
# GIVEAWAY_TIMEZONE when that is set, else UTC.
BABEL_DEFAULT_TIMEZONE = ""

# Accounts
PASSWORD_MIN_LENGTH = 10
EMAIL_TOKEN_MAX_AGE = 60 * 60 * 24 * 2  # verification links: two days
PASSWORD_TOKEN_MAX_AGE = 60 * 60 * 6  # reset and activation links: six hours
# The k-anonymity range API for breached passwords; empty turns the check off.
BREACHED_PASSWORDS_URL = "https://api.pwnedpasswords.com/range/"
BREACHED_PASSWORDS_TIMEOUT = 2.0
# Password hashes (argon2id, parameters in giveaway/accounts/passwords.py) that
# one worker process computes at once; each holds 19 MiB while it runs, so this
# bounds a worker's memory whatever its thread count. A sign-in that finds
# every slot taken for PASSWORD_HASH_TIMEOUT seconds gets a "busy, try again
# in a moment" page (503 with Retry-After), never a hang. A slot frees every
# few tens of milliseconds on a healthy machine; 5 s refused sign-ins in a
# stampede on an overloaded one. Keep it below gunicorn's worker timeout.
PASSWORD_HASH_CONCURRENCY = 2
PASSWORD_HASH_TIMEOUT = 20.0

# Rate limits (Flask-Limiter). memory:// is per process; redis://host:6379 is
# shared between hosts. Limits fail open (with a logged warning) when the
# storage is down.
RATELIMIT_STORAGE_URI = "memory://"
# Seconds to wait for the rate-limit storage (connecting, and each reply) before
# the limit is skipped: a Redis that hangs costs each limited request about
# this much per limit checked, never the portal. Extra redis-py options (a dict)
# go in RATELIMIT_STORAGE_OPTIONS.
RATELIMIT_STORAGE_TIMEOUT = 0.5
RATELIMIT_STORAGE_OPTIONS = {}
RATELIMIT_ENABLED = True
RATELIMIT_LOGIN = "10/minute;50/hour"
RATELIMIT_REGISTER = "5/minute;20/hour"
RATELIMIT_PASSWORD_RESET = "5/minute;20/hour"

# Session cookies: HttpOnly and SameSite=Lax always; Secure when the request
# came over HTTPS or when this is true. Behind a proxy set PROXY_FIX_HOPS.
SESSION_COOKIE_SECURE = False
PROXY_FIX_HOPS = 0
PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
# Set the cookie only when the session changed. Refreshing it on every request
# lets a slow response (a favicon, a stylesheet) carrying the session as it was
# overwrite a newer one, losing a WebAuthn challenge stored in between.
SESSION_REFRESH_EACH_REQUEST = False

WTF_CSRF_TIME_LIMIT = 60 * 60 * 4

# Two-factor authentication. The WebAuthn relying party comes from here, never
# from the request: RP id is the site's domain (no scheme, no port), the
# origin is the exact scheme://host[:port] browsers show. Empty means "from
# BASE_URL" (its scheme, host and port; its host name as the RP id), so a
# portal served on another port registers keys for that port.
WEBAUTHN_RP_ID = ""
WEBAUTHN_RP_NAME = "Security Key Giveaway"
WEBAUTHN_ORIGIN = ""
WEBAUTHN_TIMEOUT_MS = 120000  # how long the browser waits for a key
WEBAUTHN_CHALLENGE_TTL = 300  # seconds a challenge stays valid
# After the password, how long the second step of a sign-in may take.
TWOFACTOR_PENDING_TTL = 300
TOTP_ISSUER = ""  # the name shown in authenticator apps; empty means SITE_NAME
RECOVERY_CODE_COUNT = 10
RECOVERY_CODES_LOW = 2  # warn when this many or fewer are left
# Attempts at the second step of a sign-in, and at 2FA changes that check a
# code or password: per user and per IP address.
RATELIMIT_TWOFACTOR = "10/minute;50/hour"
# Fetching security-key options (pages do it on load): per user and per IP.
RATELIMIT_TWOFACTOR_OPTIONS = "60/minute;600/hour"
# The giveaway (claims). Times are ISO 8601 (a date, or a date and time; no
# zone means UTC); empty means "no limit".
GIVEAWAY_OPENS_AT = ""
GIVEAWAY_CLOSES_AT = ""
# The giveaway's time zone (an IANA name: "Europe/Berlin", "America/New_York",
# "UTC"), checked at start-up. A batch's expiry date means the END of that day
# here: codes "to use before 11 January" work until 23:59:59 on 11 January in
# this zone, and are stored as that exact instant in UTC. Pages, emails and the
# claims export state expiries in this zone ("the end of 11 January 2027
# (Europe/Berlin time)"). As an environment variable: GIVEAWAY_GIVEAWAY_TIMEZONE.
# (GIVEAWAY_OPENS_AT and the other times above still read a bare time as UTC.)
GIVEAWAY_TIMEZONE = "UTC"
# Accounts created at or after this time are not eligible (empty: no cut-off).
GIVEAWAY_ACCOUNT_CUTOFF = ""
# Where keys can be shipped: ISO 3166-1 alpha-2 codes (a list, or "AT,BE,...").
ELIGIBLE_REGIONS = ["AT", "BE", "CA", "FR", "DE", "IT", "JP", "ES", "CH", "GB", "US"]
RATELIMIT_CLAIM = "10/minute;40/hour"
# Batch uploads: the largest file accepted, and how long a preview can be confirmed.
CODE_UPLOAD_MAX_BYTES = 2 * 1024 * 1024
CODE_UPLOAD_PREVIEW_MAX_AGE = 60 * 60
# The expiry job reminds claimants this many days before their code expires.
EXPIRY_REMINDER_DAYS = 7
# Critical projects: the top CRITICAL_PERCENT of all projects by downloads
# over the CRITICAL_WINDOW_MONTHS whole calendar months before the as-of month.
CRITICAL_WINDOW_MONTHS = 6
CRITICAL_PERCENT = 1.0
# Seconds to wait on a download-statistics URL (connect and each read).
DOWNLOADS_URL_TIMEOUT = 30.0
# The 2FA mandate: whom it covers. "none" (nobody), "critical" (Owners and
# Maintainers of critical projects) or "all" (anyone with a role on any project).
# Covered maintainers without 2FA see a banner on every page and are reminded by
# email (`giveaway remind-2fa`) at most once every MANDATE_REMINDER_DAYS days.
MANDATE_2FA = "none"
MANDATE_REMINDER_DAYS = 14

# The largest request body accepted (413 above it, before anything is read).
# It fits the largest form, the batch upload: a code file up to
# CODE_UPLOAD_MAX_BYTES and twice that still gets its own clear message from
# the upload page. Every other form is a few kilobytes; a field longer than its
# limit is refused without being parsed further.
MAX_CONTENT_LENGTH = 2 * CODE_UPLOAD_MAX_BYTES

# --- Operations (giveaway/observability, giveaway/privacy; docs/operations.md) ---
# Logs: "plain" (one readable line, for development) or "json" (one JSON object
# a line, with the request id of every line of a request; for production).
LOG_FORMAT = "plain"
LOG_LEVEL = "INFO"
# /metrics (Prometheus) answers a request carrying "Authorization: Bearer
# <METRICS_TOKEN>", or coming from one of METRICS_NETWORKS (addresses or CIDR
# networks, e.g. ["10.0.0.0/8"]); anything else gets 403. Both empty: refused to all.
METRICS_TOKEN = ""
METRICS_NETWORKS: list[str] = []
# Error reports go to Sentry when this is set (scrubbed of secrets first).
SENTRY_DSN = ""
SENTRY_ENVIRONMENT = "production"
SENTRY_RELEASE = ""
# Share of requests traced for Sentry's performance pages (0 turns tracing off).
SENTRY_TRACES_SAMPLE_RATE = 0.0
# `giveaway forget-addresses` (cron) removes the client address of events older
# than this many days.
EVENT_ADDRESS_RETENTION_DAYS = 90
