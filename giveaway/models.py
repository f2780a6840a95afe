"""Every model, imported so that the metadata is complete (migrations, tests)."""

from giveaway.accounts.models import User
from giveaway.claims.models import PromoBatch, PromoCode, RestockRequest, UploadPreview
from giveaway.db import Base
from giveaway.events.models import Event
from giveaway.projects.models import Project, Role, RoleName

__all__ = [
    "Base",
    "Event",
    "Project",
    "PromoBatch",
    "PromoCode",
    "RestockRequest",
    "Role",
    "RoleName",
    "UploadPreview",
    "User",
]
