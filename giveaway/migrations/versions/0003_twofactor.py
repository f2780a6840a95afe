"""two-factor authentication: security keys, recovery codes, user handles

Revision ID: 0003_twofactor
Revises: 0002_outbox
Create Date: 2026-11-21 06:01:57.257362
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import giveaway.db

revision: str = "0003_twofactor"
down_revision: str | None = "0002_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webauthn_used_challenges",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_webauthn_used_challenges")),
    )
    with op.batch_alter_table("webauthn_used_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webauthn_used_challenges_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recovery_codes_user_id_used_at", ["user_id", "used_at"], unique=False
        )

    op.create_table(
        "webauthn_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backup_state", sa.Boolean(), nullable=False),
        sa.Column("created_at", giveaway.db.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", giveaway.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_webauthn_credentials_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webauthn_credentials")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_webauthn_credentials_credential_id")),
        sa.UniqueConstraint("user_id", "label", name="uq_webauthn_credentials_label"),
    )
    with op.batch_alter_table("webauthn_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webauthn_credentials_user_id"), ["user_id"], unique=False
        )

    # Plain ADD COLUMN and CREATE INDEX: a batch rebuild of users on SQLite
    # would lose its expression indexes (case-insensitive uniqueness).
    op.add_column(
        "users", sa.Column("webauthn_user_handle", sa.LargeBinary(length=64), nullable=True)
    )
    op.create_index("uq_users_webauthn_user_handle", "users", ["webauthn_user_handle"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_webauthn_user_handle", table_name="users")
    # Plain DROP COLUMN (SQLite 3.35+): no rebuild of users, as above.
    op.drop_column("users", "webauthn_user_handle")

    with op.batch_alter_table("webauthn_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webauthn_credentials_user_id"))

    op.drop_table("webauthn_credentials")
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_recovery_codes_user_id_used_at")

    op.drop_table("recovery_codes")
    with op.batch_alter_table("webauthn_used_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webauthn_used_challenges_expires_at"))

    op.drop_table("webauthn_used_challenges")
