"""Company members (raw snapshot table), `user_activity.adoption_rate`, and the weekly digest's delivery log.

Existing rows are kept: `adoption_rate` is NULL on them until `user_activity` is materialized again with a
members snapshot for its days (history before the first members fetch keeps NULL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "company_members",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, comment="When this row was fetched (UTC)"),
        sa.Column(
            "total_historical_members",
            sa.Integer(),
            nullable=True,
            comment="Members the company ever had, as observed when that day was fetched",
        ),
        sa.Column(
            "current_active_members",
            sa.Integer(),
            nullable=True,
            comment="Members the company had, as observed when that day was fetched",
        ),
        sa.PrimaryKeyConstraint("date", "company_id"),
        comment="Daily snapshot of company members (GET /api/v2/reporting/users/): the figures observed when the day was fetched. History before the first fetch cannot be rebuilt.",
    )
    op.create_table(
        "digest_log",
        sa.Column("week", sa.String(), nullable=False, comment="ISO week summarised, e.g. 2026-W47"),
        sa.Column(
            "channel",
            sa.String(),
            nullable=False,
            comment="SHA-256 of the channel's URL (never the URL: it holds secrets)",
        ),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), nullable=False, comment="When the channel accepted the digest (UTC)"
        ),
        sa.Column("run_id", sa.String(), nullable=True, comment="Dagster run that sent it"),
        sa.PrimaryKeyConstraint("week", "channel"),
        comment="Weekly digests delivered: one row per ISO week and channel, so a week is never sent twice to one",
    )
    with op.batch_alter_table("user_activity") as batch:  # SQLite: batch mode, a plain ADD COLUMN underneath
        batch.add_column(
            sa.Column(
                "adoption_rate",
                sa.Float(),
                nullable=True,
                comment="active_users_30d / current_active_members (company_members); NULL when members are unknown or 0; NULL when undefined or unless all 30 days are loaded",
            )
        )
    if op.get_context().dialect.name != "sqlite":  # SQLite keeps no comments
        op.create_table_comment(
            "user_activity",
            "User engagement per company and day (user_activities + chat_sessions, company_members optional)",
        )


def downgrade() -> None:
    with op.batch_alter_table("user_activity") as batch:
        batch.drop_column("adoption_rate")
    op.drop_table("digest_log")
    op.drop_table("company_members")
