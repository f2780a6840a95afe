"""inputs: users.email_key, the case-folded address that uniqueness compares

Revision ID: 0008_inputs
Revises: 0006_admin
Create Date: 2026-12-02 04:30:00

SQLite's lower() folds ASCII letters only, so "Ünal@…" and "ünal@…" could
both register there. The key is computed in Python (giveaway.inputs.caseless)
for every existing row; two existing accounts whose addresses fold to the same
key stop the upgrade with their names (an administrator decides which keeps
the address), rather than the unique index failing without saying why.

The column stays nullable in the schema: making it NOT NULL on SQLite means
rebuilding the users table, whose DROP would cascade into every table that
refers to it. The model fills it whenever the email is set.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from giveaway.inputs import caseless

revision: str = "0008_inputs"
down_revision: str | None = "0006_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_key", sa.String(length=320), nullable=True))
    conn = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("email", sa.String),
        sa.column("email_key", sa.String),
    )
    owners: dict[str, str] = {}
    clashes: list[str] = []
    rows = conn.execute(sa.select(users.c.id, users.c.username, users.c.email)).all()
    for user_id, username, email in rows:
        key = caseless(email)
        if key in owners:
            clashes.append(f"{owners[key]} and {username} ({email})")
        owners.setdefault(key, username)
        conn.execute(users.update().where(users.c.id == user_id).values(email_key=key))
    if clashes:
        raise RuntimeError(
            "These accounts have the same email address in different letter case; "
            "change one address of each pair, then upgrade again: " + "; ".join(clashes)
        )
    op.create_index("uq_users_email_key", "users", ["email_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_email_key", table_name="users")
    op.drop_column("users", "email_key")
