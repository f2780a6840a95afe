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
DATABASE_POOL_SIZE = 10

# Where mail goes: smtp://user:pass@host:port (STARTTLS when the server offers
# it, or smtps:// for implicit TLS), file:///dir (one .eml a message) or
# console:. Empty means file:// in the instance folder's outbox/.
MAIL_URL = ""
MAIL_FROM = "Security Key Giveaway <giveaway@localhost>"
MAIL_TIMEOUT = 10

# The public address of the portal, used in emailed links.
BASE_URL = "http://localhost:5000"
SITE_NAME = "Security Key Giveaway"
INDEX_NAME = "the package index"
SUPPORT_EMAIL = "admin@localhost"

# Accounts
PASSWORD_MIN_LENGTH = 10
EMAIL_TOKEN_MAX_AGE = 60 * 60 * 24 * 2  # verification links: two days
PASSWORD_TOKEN_MAX_AGE = 60 * 60 * 6  # reset and activation links: six hours
# The k-anonymity range API for breached passwords; empty turns the check off.
BREACHED_PASSWORDS_URL = "https://api.pwnedpasswords.com/range/"
BREACHED_PASSWORDS_TIMEOUT = 2.0

# Rate limits (Flask-Limiter). memory:// is per process; redis://host:6379 is
# shared between hosts. Limits fail open (with a logged warning) when the
# storage is down.
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_ENABLED = True
RATELIMIT_LOGIN = "10/minute;50/hour"
RATELIMIT_REGISTER = "5/minute;20/hour"
RATELIMIT_PASSWORD_RESET = "5/minute;20/hour"

# Session cookies: HttpOnly and SameSite=Lax always; Secure when the request
# came over HTTPS or when this is true. Behind a proxy set PROXY_FIX_HOPS.
SESSION_COOKIE_SECURE = False
PROXY_FIX_HOPS = 0
PERMANENT_SESSION_LIFETIME = 60 * 60 * 12

WTF_CSRF_TIME_LIMIT = 60 * 60 * 4

# Critical projects: the top CRITICAL_PERCENT of all projects by downloads
# over the CRITICAL_WINDOW_MONTHS whole calendar months before the as-of month.
CRITICAL_WINDOW_MONTHS = 6
CRITICAL_PERCENT = 1.0
# Seconds to wait on a download-statistics URL (connect and each read).
DOWNLOADS_URL_TIMEOUT = 30.0
