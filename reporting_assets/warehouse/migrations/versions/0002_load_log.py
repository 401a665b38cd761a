"""The load ledger `load_log`, derived for the raw tables' days already loaded; rolling figures' comments.

A day holding rows in a raw table was loaded before the ledger existed: it gets one ledger row (every company,
`run_id` 'upgrade', `loaded_at` = its first `ingested_at`). A day without any row stays not loaded until it is
materialized again: we cannot tell "fetched, nobody active" from "never fetched" for it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RAW = ("chat_sessions", "chat_feedbacks", "tools_usage", "used_documents", "user_activities")
WINDOWS = {  # table -> column -> (type, comment): rolling figures, NULL unless their whole window is loaded
    "adoption_satisfaction": {
        "sessions_7d": (sa.Integer(), "Sessions over the 7 days ending on date; NULL unless all 7 days are loaded"),
        "satisfaction_rate_7d": (
            sa.Float(),
            "likes / (likes + dislikes) over the 7 days ending on date; NULL when undefined or unless all 7 days "
            "are loaded",
        ),
    },
    "user_activity": {
        "active_users_7d": (
            sa.Integer(),
            "Distinct users active over the 7 days ending on date; NULL unless all 7 days are loaded",
        ),
        "active_users_30d": (
            sa.Integer(),
            "Distinct users active over the 30 days ending on date; NULL unless all 30 days are loaded",
        ),
        "stickiness": (
            sa.Float(),
            "active_users / active_users_30d (DAU / MAU); NULL when undefined or unless all 30 days are loaded",
        ),
    },
}


def upgrade() -> None:
    load_log = op.create_table(
        "load_log",
        sa.Column(
            "asset", sa.String(), nullable=False, comment="Asset (table) whose day this is: a raw asset, or a KPI asset"
        ),
        sa.Column("date", sa.Date(), nullable=False, comment="Day loaded (UTC), the partition key"),
        sa.Column(
            "company_scope",
            sa.Integer(),
            nullable=True,
            comment="PARADIGM_COMPANY_ID of the load; NULL = every company the token sees",
        ),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, comment="When the day was written (UTC)"),
        sa.Column("rows", sa.Integer(), nullable=False, comment="Rows written for that day (0 = loaded, no activity)"),
        sa.Column(
            "run_id",
            sa.String(),
            nullable=True,
            comment="Dagster run that wrote it ('upgrade' when derived from older rows)",
        ),
        comment="Load ledger: which days of which asset were loaded. A day absent here was never loaded, which is "
        "not the same as a day without activity.",
    )
    op.create_index("load_log_key", "load_log", ["asset", "date", sa.text("coalesce(company_scope, -1)")], unique=True)
    for name in RAW:
        raw = sa.table(name, sa.column("date", sa.Date()), sa.column("ingested_at", sa.DateTime(timezone=True)))
        days = sa.select(
            sa.literal(name).label("asset"),
            raw.c.date,
            sa.null().label("company_scope"),
            sa.func.min(raw.c.ingested_at).label("loaded_at"),
            sa.func.count().label("rows"),
            sa.literal("upgrade").label("run_id"),
        ).group_by(raw.c.date)
        columns = ["asset", "date", "company_scope", "loaded_at", "rows", "run_id"]
        op.execute(load_log.insert().from_select(columns, days))
    if op.get_context().dialect.name != "sqlite":  # SQLite keeps no comments
        for table, columns in WINDOWS.items():
            for column, (kind, comment) in columns.items():
                op.alter_column(table, column, existing_type=kind, existing_nullable=True, comment=comment)


def downgrade() -> None:
    op.drop_index("load_log_key", table_name="load_log")
    op.drop_table("load_log")
