# An example production settings file: copy it, fill it in and point
# GIVEAWAY_SETTINGS at it. Environment variables (GIVEAWAY_*) still win.
SECRET_KEY = "change-me: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
DATABASE_URL = "postgresql+psycopg://giveaway@db.internal/giveaway"
MAIL_URL = "smtp://giveaway:app-password@smtp.internal:587?tls=required"
MAIL_FROM = "Security Key Giveaway <noreply@index.example>"
BASE_URL = "https://giveaway.index.example"
RATELIMIT_STORAGE_URI = "redis://redis.internal:6379/0"
PROXY_FIX_HOPS = 1
SESSION_COOKIE_SECURE = True
# Security keys are bound to this domain and origin: change them only with a
# plan, as keys registered under an old RP id stop working.
WEBAUTHN_RP_ID = "giveaway.index.example"
WEBAUTHN_ORIGIN = "https://giveaway.index.example"
# Operations (docs/operations.md): JSON logs, who may scrape /metrics, error reports.
LOG_FORMAT = "json"
METRICS_NETWORKS = ["10.0.0.0/8"]
# SENTRY_DSN = "https://key@sentry.example/1"
