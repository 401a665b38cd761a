"""`erased_users` and `erasure_key`: who `forget` erased (never the raw id), so that every later load drops them.
Created empty: erasures made before this revision left no record (`docs/users-and-privacy.md`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_users",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column(
            "user_hash", sa.BigInteger(), nullable=False, comment="HMAC-SHA256 of the user under erasure_key.secret"
        ),
        sa.Column(
            "user_id",
            sa.BigInteger(),
            nullable=False,
            comment="The erased user as per-user tables stored them: the pseudonym (REPORTING_USER_ID_KEY), else "
            "user_hash; never the raw id",
        ),
        sa.Column(
            "erased_at", sa.DateTime(timezone=True), nullable=False, comment="When `forget` erased the user (UTC)"
        ),
        sa.PrimaryKeyConstraint("company_id", "user_hash"),
        comment="Users erased by `python -m reporting_assets.users forget`: every load drops their rows before writing",
    )
    op.create_table(
        "erasure_key",
        sa.Column(
            "secret", sa.String(), nullable=False, comment="Random secret of erased_users.user_hash (never a BI grant)"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, comment="When it was drawn (UTC)"),
        sa.PrimaryKeyConstraint("secret"),
        comment="One row: the secret erased_users.user_hash is made with, independent of REPORTING_USER_ID_KEY (so "
        "an erasure holds when the key changes)",
    )


def downgrade() -> None:
    op.drop_table("erasure_key")
    op.drop_table("erased_users")
