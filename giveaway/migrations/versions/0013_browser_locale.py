"""browser_locale: the language an account's browser asked for at its last sign-in

Mail sent later (the claim's receipt, cron's reminders) speaks it when the
account chose no language in the menu.

Revision ID: 0013_browser_locale
Revises: 0012_locale
Create Date: 2026-12-02 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_browser_locale"
down_revision: str | None = "0012_locale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Nullable, added and dropped in place like 0012's `locale`.


def upgrade() -> None:
    op.add_column("users", sa.Column("browser_locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "browser_locale")
