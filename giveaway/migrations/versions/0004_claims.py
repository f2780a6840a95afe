"""promo batches and codes, restock requests, upload previews

Revision ID: 0004_claims
Revises: 0003_twofactor
Create Date: 2026-11-21 06:04:03.005357
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import giveaway.db

revision: str = "0004_claims"
down_revision: str | None = "0003_twofactor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "promo_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("vendor", sa.String(length=100), nullable=False),
        sa.Column("keys_per_code", sa.Integer(), nullable=False),
        sa.Column("expires_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("code_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_promo_batches_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_batches")),
        sa.UniqueConstraint("name", name=op.f("uq_promo_batches_name")),
    )
    op.create_table(
        "promo_upload_previews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("batch_name", sa.String(length=100), nullable=False),
        sa.Column("vendor", sa.String(length=100), nullable=False),
        sa.Column("keys_per_code", sa.Integer(), nullable=False),
        sa.Column("expires_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_promo_upload_previews_created_by_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_upload_previews")),
        sa.UniqueConstraint("token", name=op.f("uq_promo_upload_previews_token")),
    )
    op.create_table(
        "restock_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("notified_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_restock_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restock_requests")),
        sa.UniqueConstraint("user_id", name=op.f("uq_restock_requests_user_id")),
    )
    op.create_table(
        "promo_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.Column("expired_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.Column("voided_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.Column("reminder_sent_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.Column("receipt_queued_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["promo_batches.id"],
            name=op.f("fk_promo_codes_batch_id_promo_batches"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"],
            ["users.id"],
            name=op.f("fk_promo_codes_claimed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_codes")),
        sa.UniqueConstraint("claimed_by_id", name=op.f("uq_promo_codes_claimed_by_id")),
        sa.UniqueConstraint("code", name=op.f("uq_promo_codes_code")),
    )
    with op.batch_alter_table("promo_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_promo_codes_available",
            ["expires_at", "id"],
            unique=False,
            sqlite_where=sa.text(
                "claimed_by_id IS NULL AND voided_at IS NULL AND expired_at IS NULL"
            ),
            postgresql_where=sa.text(
                "claimed_by_id IS NULL AND voided_at IS NULL AND expired_at IS NULL"
            ),
        )
        batch_op.create_index(batch_op.f("ix_promo_codes_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_promo_codes_claimed_expiry",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text("claimed_by_id IS NOT NULL AND reminder_sent_at IS NULL"),
            postgresql_where=sa.text("claimed_by_id IS NOT NULL AND reminder_sent_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("promo_codes", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_promo_codes_claimed_expiry",
            sqlite_where=sa.text("claimed_by_id IS NOT NULL AND reminder_sent_at IS NULL"),
            postgresql_where=sa.text("claimed_by_id IS NOT NULL AND reminder_sent_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_promo_codes_batch_id"))
        batch_op.drop_index(
            "ix_promo_codes_available",
            sqlite_where=sa.text(
                "claimed_by_id IS NULL AND voided_at IS NULL AND expired_at IS NULL"
            ),
            postgresql_where=sa.text(
                "claimed_by_id IS NULL AND voided_at IS NULL AND expired_at IS NULL"
            ),
        )

    op.drop_table("promo_codes")
    op.drop_table("restock_requests")
    op.drop_table("promo_upload_previews")
    op.drop_table("promo_batches")
