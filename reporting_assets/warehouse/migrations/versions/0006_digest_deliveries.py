"""Weekly digests are delivered like alerts: one row per week and channel in `alert_deliveries` (fingerprint
`weekly_digest/<ISO week>`, started_at the week's Monday, transition `digest`), with the channels' backoff and
24-hour report of `alert_channels`. The rows of `digest_log` move there, so no digest is sent again after the
upgrade; `digest_log` goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "Notifications delivered, one row per notification and channel: each alert transition, run failure and weekly digest reaches each channel once"
FINGERPRINT = "The alert episode's fingerprint, run_failure/<run id>, or weekly_digest/<ISO week>"
STARTED_AT = "The alert episode's first day (a digest: its week's Monday)"
TRANSITION = "firing, resolved, reminder or digest"


def upgrade() -> None:
    bind = op.get_bind()
    log = sa.table(
        "digest_log",
        sa.column("week", sa.String()),
        sa.column("channel", sa.String()),
        sa.column("sent_at", sa.DateTime(timezone=True)),
    )
    deliveries = sa.table(
        "alert_deliveries",
        sa.column("fingerprint", sa.String()),
        sa.column("started_at", sa.Date()),
        sa.column("transition", sa.String()),
        sa.column("occurrence", sa.String()),
        sa.column("channel", sa.String()),
        sa.column("delivered_at", sa.DateTime(timezone=True)),
    )
    rows = [
        {
            "fingerprint": f"weekly_digest/{week}",
            "started_at": date.fromisocalendar(int(week[:4]), int(week[6:]), 1),
            "transition": "digest",
            "occurrence": "",
            "channel": channel,
            "delivered_at": sent_at,
        }
        for week, channel, sent_at in bind.execute(sa.select(log.c.week, log.c.channel, log.c.sent_at))
    ]
    if rows:
        bind.execute(deliveries.insert(), rows)
    op.drop_table("digest_log")
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.alter_column(
            "fingerprint",
            existing_type=sa.String(),
            existing_nullable=False,
            comment=FINGERPRINT,
            existing_comment="The alert episode's fingerprint (or run_failure/<run id>)",
        )
        batch.alter_column(
            "started_at",
            existing_type=sa.Date(),
            existing_nullable=False,
            comment=STARTED_AT,
            existing_comment="The alert episode's first day",
        )
        batch.alter_column(
            "transition",
            existing_type=sa.String(),
            existing_nullable=False,
            comment=TRANSITION,
            existing_comment="firing, resolved or reminder",
        )
    if bind.dialect.name == "postgresql":  # SQLite keeps no comments
        op.create_table_comment(
            "alert_deliveries",
            TABLE,
            existing_comment="Alert notifications delivered, one row per transition and channel: each reaches each "
            "channel once",
        )


def downgrade() -> None:
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
            "sent_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the channel accepted the digest (UTC)",
        ),
        sa.Column("run_id", sa.String(), nullable=True, comment="Dagster run that sent it"),
        sa.PrimaryKeyConstraint("week", "channel"),
        comment="Weekly digests delivered: one row per ISO week and channel, so a week is never sent twice to one",
    )
    op.execute(
        "INSERT INTO digest_log (week, channel, sent_at) SELECT substr(fingerprint, 15), channel, delivered_at "
        "FROM alert_deliveries WHERE transition = 'digest'"
    )
    op.execute("DELETE FROM alert_deliveries WHERE transition = 'digest'")
