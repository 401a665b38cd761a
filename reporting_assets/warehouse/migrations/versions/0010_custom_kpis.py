"""`custom_kpis`: your own KPIs (REPORTING_KPIS), one row per loaded day, company and KPI. Created empty: the
`custom_kpis` asset fills it from the tables already loaded.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custom_kpis",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("kpi", sa.String(), nullable=False, comment="The KPI's name in REPORTING_KPIS"),
        sa.Column("label", sa.String(), nullable=False, comment="The KPI's English label in REPORTING_KPIS"),
        sa.Column(
            "numerator",
            sa.Float(),
            nullable=False,
            comment="The KPI's sum (a ratio's numerator) that day; 0 without activity",
        ),
        sa.Column("denominator", sa.Float(), comment="A ratio's denominator that day; NULL for a sum"),
        sa.Column(
            "value", sa.Float(), comment="numerator (a sum) or numerator / denominator (a ratio); NULL when undefined"
        ),
        sa.PrimaryKeyConstraint("date", "company_id", "kpi"),
        comment="Your own KPIs (REPORTING_KPIS) per company and loaded day: a day not loaded has no row",
    )


def downgrade() -> None:
    op.drop_table("custom_kpis")
