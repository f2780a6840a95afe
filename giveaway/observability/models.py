"""When each cron job last ran: shared by every host through the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from giveaway.db import Base, UTCDateTime


class JobRun(Base):
    """One row per cron job, updated at the end of each run that did not fail.

    A run that found another host holding the job's lock still counts: the job
    was on time, another host did the work. A failed run writes nothing (a
    command refusing bad input changes nothing): it shows as a late job.
    """

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_success_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_duration_seconds: Mapped[float] = mapped_column(Float)
    successes: Mapped[int] = mapped_column(Integer, default=0)
