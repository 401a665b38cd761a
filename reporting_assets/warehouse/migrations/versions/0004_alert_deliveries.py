"""Alert deliveries per channel (`alert_deliveries`) and the channels that refuse them (`alert_channels`).

Existing alert episodes keep their `notifications_sent`: what was delivered before this revision is not sent
again; from now on each transition is recorded per channel.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column(
            "fingerprint",
            sa.String(),
            nullable=False,
            comment="The alert episode's fingerprint (or run_failure/<run id>)",
        ),
        sa.Column("started_at", sa.Date(), nullable=False, comment="The alert episode's first day"),
        sa.Column("transition", sa.String(), nullable=False, comment="firing, resolved or reminder"),
        sa.Column(
            "occurrence",
            sa.String(),
            nullable=False,
            comment="Which reminder: the notification it follows (UTC); '' else",
        ),
        sa.Column(
            "channel",
            sa.String(),
            nullable=False,
            comment="SHA-256 of the channel's URL (never the URL: it holds secrets)",
        ),
        sa.Column(
            "delivered_at", sa.DateTime(timezone=True), nullable=False, comment="When the channel accepted it (UTC)"
        ),
        sa.PrimaryKeyConstraint("fingerprint", "started_at", "transition", "occurrence", "channel"),
        comment="Alert notifications delivered, one row per transition and channel: each reaches each channel once",
    )
    op.create_table(
        "alert_channels",
        sa.Column("channel", sa.String(), nullable=False, comment="SHA-256 of the channel's URL (never the URL)"),
        sa.Column(
            "failing_since", sa.DateTime(timezone=True), nullable=False, comment="First refusal of this failing streak"
        ),
        sa.Column("failures", sa.Integer(), nullable=False, comment="Refusals in a row"),
        sa.Column(
            "retry_at", sa.DateTime(timezone=True), nullable=False, comment="No new attempt before this time (backoff)"
        ),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the streak was reported (after 24 h of refusals)",
        ),
        sa.PrimaryKeyConstraint("channel"),
        comment="Alert channels that refuse notifications: retried with backoff; a channel that accepts is removed",
    )


def downgrade() -> None:
    op.drop_table("alert_channels")
    op.drop_table("alert_deliveries")
