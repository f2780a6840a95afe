"""Every model, imported so that the metadata is complete (migrations, tests)."""

from giveaway.accounts.models import User
from giveaway.critical.models import (
    CriticalDesignation,
    CriticalNotice,
    DownloadCount,
    DownloadImport,
    DownloadPeriod,
)
from giveaway.db import Base
from giveaway.events.models import Event
from giveaway.projects.models import Project, Role, RoleName

__all__ = [
    "Base",
    "CriticalDesignation",
    "CriticalNotice",
    "DownloadCount",
    "DownloadImport",
    "DownloadPeriod",
    "Event",
    "Project",
    "Role",
    "RoleName",
    "User",
]
