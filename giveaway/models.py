"""Every model, imported so that the metadata is complete (migrations, tests)."""

from giveaway.accounts.models import User
from giveaway.db import Base
from giveaway.events.models import Event
from giveaway.mail.models import OutboxMessage
from giveaway.projects.models import Project, Role, RoleName

__all__ = ["Base", "Event", "OutboxMessage", "Project", "Role", "RoleName", "User"]
