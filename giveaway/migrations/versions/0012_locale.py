"""locale: the language each account chose in the menu (pages and mail speak it)

Revision ID: 0012_locale
Revises: 0011_recovery_confirmed
Create Date: 2026-12-02 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_locale"
down_revision: str | None = "0011_recovery_confirmed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A nullable column, added and dropped in place (SQLite 3.35+ drops columns):
# no rebuild of the users table, whose DROP would cascade into every table that
# refers to it.


def upgrade() -> None:
    op.add_column("users", sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "locale")
