"""Every model, imported so that the metadata is complete (migrations, tests)."""

from giveaway.accounts.models import User
from giveaway.admin.models import AdoptionSnapshot, MandateReminder
from giveaway.claims.models import PromoBatch, PromoCode, RestockRequest, UploadPreview
from giveaway.critical.models import (
    CriticalDesignation,
    CriticalNotice,
    DownloadCount,
    DownloadImport,
    DownloadPeriod,
)
from giveaway.db import Base
from giveaway.events.models import Event
from giveaway.mail.models import OutboxMessage
from giveaway.observability.models import JobRun
from giveaway.projects.models import Project, Role, RoleName
from giveaway.twofactor.models import RecoveryCode, UsedChallenge, WebAuthnCredential

__all__ = [
    "AdoptionSnapshot",
    "Base",
    "CriticalDesignation",
    "CriticalNotice",
    "DownloadCount",
    "DownloadImport",
    "DownloadPeriod",
    "Event",
    "JobRun",
    "MandateReminder",
    "OutboxMessage",
    "Project",
    "PromoBatch",
    "PromoCode",
    "RecoveryCode",
    "RestockRequest",
    "Role",
    "RoleName",
    "UploadPreview",
    "UsedChallenge",
    "User",
    "WebAuthnCredential",
]
