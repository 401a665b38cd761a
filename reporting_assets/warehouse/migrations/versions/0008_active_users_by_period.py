"""`active_users_by_period`: distinct active users per company and period (day, ISO week, month, quarter, year),
counted from the per-user rows and kept (what the BI contract's `fct_active_users` reads). Created empty: the
asset fills it from the per-user rows still held.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "active_users_by_period",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column(
            "grain", sa.String(), nullable=False, comment="day, week (ISO, Monday to Sunday), month, quarter or year"
        ),
        sa.Column("period_start", sa.Date(), nullable=False, comment="First day of the period"),
        sa.Column("period_end", sa.Date(), nullable=False, comment="Last day of the period"),
        sa.Column(
            "active_users",
            sa.Integer(),
            comment="Distinct users active in the period (user_activities), on its loaded days",
        ),
        sa.Column(
            "members",
            sa.Integer(),
            comment="current_active_members on the period's last day with a members snapshot (company_members)",
        ),
        sa.Column(
            "days_loaded",
            sa.Integer(),
            comment="Days of the period counted: loaded in user_activities, and not purged when counted",
        ),
        sa.Column(
            "days_in_period",
            sa.Integer(),
            comment="Days in the period: a period with fewer days loaded is not wholly loaded",
        ),
        sa.PrimaryKeyConstraint("company_id", "grain", "period_start"),
        comment="Distinct active users per company and period (day, ISO week, month, quarter, year), counted once "
        "from the per-user rows and kept: a period whose per-user rows were purged keeps its figures",
    )


def downgrade() -> None:
    op.drop_table("active_users_by_period")
