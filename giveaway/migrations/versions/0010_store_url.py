"""store_url: where a batch's codes are redeemed; blank lines a staged upload skipped

Revision ID: 0010_store_url
Revises: 0009_ops
Create Date: 2026-12-02 07:30:00

Batches uploaded before this have no store address (NULL): the pages then say
that the vendor gives the link.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_store_url"
down_revision: str | None = "0009_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("promo_batches", sa.Column("store_url", sa.String(length=500), nullable=True))
    op.add_column(
        "promo_upload_previews", sa.Column("store_url", sa.String(length=500), nullable=True)
    )
    op.add_column(
        "promo_upload_previews",
        sa.Column("blank_lines", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35 and later, as 0008_inputs does).
    op.drop_column("promo_upload_previews", "blank_lines")
    op.drop_column("promo_upload_previews", "store_url")
    op.drop_column("promo_batches", "store_url")
