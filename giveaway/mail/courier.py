"""The courier: a thread per process that delivers a web request's mail after the response."""

from __future__ import annotations

import logging
import os
import queue
import threading

from flask import Flask

from giveaway import db
from giveaway.mail.outbox import deliver_many

log = logging.getLogger(__name__)


class Courier:
    """Delivers a web request's mail on a thread of its own, after the response.

    The messages are already committed to the outbox, so nothing is lost when
    the process stops first: `giveaway send-mail` (cron) sends what is left.
    One thread per process, started on first use (so after gunicorn forks).
    """

    def __init__(self, app: Flask, batch: int) -> None:
        self.app = app
        self.batch = batch
        self.queue: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        self.pid: int | None = None
        self.lock = threading.Lock()

    def submit(self, ids: list[int]) -> None:
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():
                    self.queue = queue.SimpleQueue()
                    threading.Thread(target=self._run, name="giveaway-mail", daemon=True).start()
                    self.pid = os.getpid()
        self.queue.put(ids)

    def _run(self) -> None:
        while True:
            ids = self.queue.get()
            # Whatever else is waiting goes in the same batch: under a stampede
            # of claims, one claiming statement per batch instead of per message.
            while len(ids) < self.batch:
                try:
                    ids = ids + self.queue.get_nowait()
                except queue.Empty:
                    break
            try:
                with self.app.app_context(), db.separate_session() as session:
                    deliver_many(session, ids)
            except Exception:  # noqa: BLE001 - the thread must live on; cron retries
                log.exception("background mail delivery failed; send-mail will retry")
