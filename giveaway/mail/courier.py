"""The courier: a thread per process that delivers a web request's mail after the response."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from giveaway import db
from giveaway.mail.outbox import deliver_many, run_after_commit

log = logging.getLogger(__name__)


class Courier:
    """Delivers a web request's mail on a thread of its own, after the response.

    The messages are already committed to the outbox, so nothing is lost when
    the process stops first: `giveaway send-mail` (cron) sends what is left.
    It also runs the work that writes mail after a commit (`outbox.after_commit`,
    the claim's receipt), each in a transaction of its own; what a stopped
    process had not run yet is recovered by that work's owner.
    One thread per process, started on first use (so after gunicorn forks).
    """

    def __init__(self, app: Flask, batch: int) -> None:
        self.app = app
        self.batch = batch
        self.queue: queue.SimpleQueue[list[int] | Callable[[Session], object]] = queue.SimpleQueue()
        self.pid: int | None = None
        self.lock = threading.Lock()

    def submit(self, ids: list[int]) -> None:
        self._started()
        self.queue.put(ids)

    def submit_work(self, work: Callable[[Session], object]) -> None:
        """Run `work(session)` and commit it, on the courier's thread."""
        self._started()
        self.queue.put(work)

    def _started(self) -> None:
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():
                    self.queue = queue.SimpleQueue()
                    threading.Thread(target=self._run, name="giveaway-mail", daemon=True).start()
                    self.pid = os.getpid()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if callable(item):
                # Works waiting together run in one transaction (a stampede's receipts).
                works = [item]
                while len(works) < self.batch:
                    try:
                        more = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if not callable(more):
                        self.queue.put(more)
                        break
                    works.append(more)
                self._work(*works)
                continue
            ids = item
            # Whatever else is waiting goes in the same batch: under a stampede
            # of claims, one claiming statement per batch instead of per message.
            while len(ids) < self.batch:
                try:
                    more = self.queue.get_nowait()
                except queue.Empty:
                    break
                if callable(more):
                    self._work(more)
                else:
                    ids = ids + more
            try:
                with self.app.app_context(), db.separate_session() as session:
                    deliver_many(session, ids)
            except Exception:  # noqa: BLE001 - the thread must live on; cron retries
                log.exception("background mail delivery failed; send-mail will retry")

    def _work(self, *works: Callable[[Session], object]) -> None:
        try:
            with self.app.app_context():
                maker = self.app.extensions["db.sessionmaker"]
                with maker() as session:
                    run_after_commit(session, *works)
        except Exception:  # noqa: BLE001 - the thread must live on
            log.exception("mail work after commit failed")
