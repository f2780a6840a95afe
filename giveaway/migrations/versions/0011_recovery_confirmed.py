"""recovery_confirmed: when a set of recovery codes was proven saved (one typed back)

Revision ID: 0011_recovery_confirmed
Revises: 0010_store_url
Create Date: 2026-12-02 07:30:00

Sets made before this revision stay unconfirmed: their owners are asked to
type one code back, the same as for a new set.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import giveaway.db

revision: str = "0011_recovery_confirmed"
down_revision: str | None = "0010_store_url"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "recovery_codes",
        sa.Column("confirmed_at", giveaway.db.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("recovery_codes", "confirmed_at")
