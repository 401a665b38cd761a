"""Per-user analytics and privacy: `user_engagement`, `retention_cohorts`, `pseudonymisation`, the ledger's
`purged_at`, and user ids on 64 bits (`user_activities.user_id`: a pseudonym is a positive 63-bit integer).

Existing rows are kept as they are: user ids stay raw until REPORTING_USER_ID_KEY is set (then converted in one
transaction), no day is purged, and the two new tables are filled at the next materialization.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

USER_ID = "Paradigm user id, or its pseudonym when REPORTING_USER_ID_KEY is set"


def upgrade() -> None:
    # SQLite copies the table (its integers are 64 bits already; the declared type is what changes)
    with op.batch_alter_table("user_activities") as batch:
        batch.alter_column(
            "user_id",
            type_=sa.BigInteger(),
            existing_nullable=False,
            comment=f"{USER_ID} (no names or e-mails are stored)",
            existing_comment="Paradigm user id (no names or e-mails are stored)",
        )
    op.add_column(
        "load_log",
        sa.Column(
            "purged_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the day's per-user rows were deleted (REPORTING_USER_RETENTION_DAYS); NULL = kept. A purged day stays loaded: the KPI figures computed from it are kept, never recomputed from what is left",
        ),
    )
    op.create_table(
        "user_engagement",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("user_id", sa.BigInteger(), nullable=False, comment=USER_ID),
        sa.Column(
            "first_active_date",
            sa.Date(),
            nullable=False,
            comment="First day seen active since the first loaded day of user_activities (purged days excluded): not necessarily the user's first day ever",
        ),
        sa.Column("last_active_date", sa.Date(), nullable=False, comment="Last day seen active"),
        sa.Column(
            "active_days",
            sa.Integer(),
            nullable=True,
            comment="Days active in the loaded history (purged days excluded)",
        ),
        sa.Column(
            "active_days_30d", sa.Integer(), nullable=True, comment="Days active in the 30 days ending on as_of_date"
        ),
        sa.Column("sessions_30d", sa.Integer(), nullable=True, comment="Sessions in the 30 days ending on as_of_date"),
        sa.Column("queries_30d", sa.Integer(), nullable=True, comment="Queries in the 30 days ending on as_of_date"),
        sa.Column(
            "segment",
            sa.String(),
            nullable=True,
            comment="new (first active in the last 30 days), else by active days of the last 30: power >= 12, regular 4-11, occasional 1-3, dormant 0; NULL when those 30 days are not all loaded",
        ),
        sa.Column(
            "days_loaded_30d",
            sa.Integer(),
            nullable=True,
            comment="Days of the 30 ending on as_of_date loaded in user_activities (30 = whole window)",
        ),
        sa.Column(
            "as_of_date", sa.Date(), nullable=False, comment="Last day loaded in user_activities: the picture's date"
        ),
        sa.PrimaryKeyConstraint("company_id", "user_id"),
        comment="Each user's engagement as of the last day loaded (user_activities): one row per company and user",
    )
    op.create_table(
        "retention_cohorts",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column(
            "cohort_month", sa.Date(), nullable=False, comment="First day of the month of the users' first activity"
        ),
        sa.Column(
            "month_offset",
            sa.Integer(),
            nullable=False,
            comment="Months after the cohort month (0 = the cohort month itself)",
        ),
        sa.Column("cohort_users", sa.Integer(), nullable=True, comment="Users first active in the cohort month"),
        sa.Column(
            "retained_users",
            sa.Integer(),
            nullable=True,
            comment="Users of the cohort active at least once in month cohort_month + month_offset",
        ),
        sa.Column(
            "retention_rate", sa.Float(), nullable=True, comment="retained_users / cohort_users; NULL when undefined"
        ),
        sa.Column(
            "days_loaded",
            sa.Integer(),
            nullable=True,
            comment="Days of month cohort_month + month_offset loaded in user_activities",
        ),
        sa.Column(
            "left_censored",
            sa.Boolean(),
            nullable=False,
            comment="True for the first loaded month: its cohort holds everyone already active before it",
        ),
        sa.PrimaryKeyConstraint("company_id", "cohort_month", "month_offset"),
        comment="Monthly retention cohorts per company (user_activities): who comes back, month after month",
    )
    op.create_table(
        "pseudonymisation",
        sa.Column(
            "key_check",
            sa.String(),
            nullable=False,
            comment="HMAC-SHA256 of a fixed text under REPORTING_USER_ID_KEY: tells whether the key changed (never the key)",
        ),
        sa.Column(
            "since",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When stored user ids were pseudonymised (UTC)",
        ),
        sa.PrimaryKeyConstraint("key_check"),
        comment="One row when the warehouse's user ids are pseudonyms (REPORTING_USER_ID_KEY); none when they are raw",
    )


def downgrade() -> None:
    op.drop_table("pseudonymisation")
    op.drop_table("retention_cohorts")
    op.drop_table("user_engagement")
    op.drop_column("load_log", "purged_at")
    with op.batch_alter_table("user_activities") as batch:
        batch.alter_column("user_id", type_=sa.Integer(), existing_nullable=False)
