from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giveaway import clock
from giveaway.accounts.models import User
from giveaway.db import Base, UTCDateTime


class RoleName(enum.StrEnum):
    OWNER = "Owner"
    MAINTAINER = "Maintainer"


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalized as in PEP 503: lowercase, runs of -_. become one "-".
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Set the first time the project is designated critical; never cleared.
    critical_since: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    critical_rank: Mapped[int | None] = mapped_column(Integer)
    critical_downloads: Mapped[int | None] = mapped_column(BigInteger)

    roles: Mapped[list[Role]] = relationship(back_populates="project")

    @property
    def is_critical(self) -> bool:
        return self.critical_since is not None


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    role_name: Mapped[RoleName] = mapped_column(
        Enum(RoleName, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )

    user: Mapped[User] = relationship()
    project: Mapped[Project] = relationship(back_populates="roles")
