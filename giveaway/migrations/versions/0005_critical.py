"""critical projects: download periods and counts, the import log, designations, notices

Revision ID: 0005_critical
Revises: 0004_claims
Create Date: 2026-11-21 06:01:56.746123
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import giveaway.db

revision: str = "0005_critical"
down_revision: str | None = "0004_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "download_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("projects_created", sa.Integer(), nullable=False),
        sa.Column("dataset_count", sa.BigInteger(), nullable=True),
        sa.Column("imported_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_download_imports")),
    )
    with op.batch_alter_table("download_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_download_imports_imported_at"), ["imported_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_download_imports_period"), ["period"], unique=False)

    op.create_table(
        "download_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("dataset_count", sa.BigInteger(), nullable=True),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("imported_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_download_periods")),
        sa.UniqueConstraint("period", name=op.f("uq_download_periods_period")),
    )
    op.create_table(
        "critical_designations",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("index_size", sa.BigInteger(), nullable=False),
        sa.Column("cutoff_rank", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("designated_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_critical_designations_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_critical_designations")),
    )
    op.create_table(
        "critical_notices",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("notified_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_critical_notices_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_critical_notices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_critical_notices")),
    )
    with op.batch_alter_table("critical_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_critical_notices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "download_counts",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        # No foreign keys on this bulk table: see the model.
        sa.PrimaryKeyConstraint("period_id", "project_id", name=op.f("pk_download_counts")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # Covering index for summing each project's downloads (see the model).
        op.create_index(
            "ix_download_counts_project_totals",
            "download_counts",
            ["project_id", "period_id", "downloads"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("download_counts")
    with op.batch_alter_table("critical_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_critical_notices_user_id"))

    op.drop_table("critical_notices")
    op.drop_table("critical_designations")
    op.drop_table("download_periods")
    with op.batch_alter_table("download_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_download_imports_period"))
        batch_op.drop_index(batch_op.f("ix_download_imports_imported_at"))

    op.drop_table("download_imports")
