"""gunicorn settings for the portal: `gunicorn -c config/gunicorn.conf.py wsgi:app`.

Prometheus multi-process mode: every worker writes its counters to files in
PROMETHEUS_MULTIPROC_DIR and /metrics adds them up. The directory must be set
in the environment before gunicorn starts, be private to this gunicorn (one
per instance on a host), and be emptied at start (stale files from an earlier
run would be counted again): `on_starting` does that. `child_exit` tells the
library a worker is gone, so its live gauges stop being reported.

Any setting here can be overridden on the command line (-w, -b, --threads...).
"""

import os
import shutil
from pathlib import Path

bind = "127.0.0.1:8000"
worker_class = "gthread"
workers = 4
threads = 8
# Behind a proxy that keeps connections open.
keepalive = 5
# The JSON logs go to stderr; gunicorn's own access log adds nothing to them.
accesslog = None
errorlog = "-"
timeout = 60
graceful_timeout = 30


def on_starting(server):  # type: ignore[no-untyped-def]
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        server.log.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: /metrics shows one worker's figures only"
        )
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
