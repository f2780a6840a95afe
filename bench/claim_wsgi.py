"""The portal as gunicorn serves it for bench/claim.py, plus a bare endpoint to compare with.

Settings come from the environment (GIVEAWAY_DATABASE_URL, GIVEAWAY_SECRET_KEY, …)
as in production; the bare endpoint does no work at all.
"""

from giveaway import create_app

app = create_app({"RATELIMIT_ENABLED": False})


@app.get("/_bench/bare")
def bare():  # type: ignore[no-untyped-def]
    return "ok"
