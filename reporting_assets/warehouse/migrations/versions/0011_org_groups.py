"""Org data and groups (REPORTING_ORG_DATA): `org_memberships`, `org_data_file`, `group_activity` and
`group_segments`, created empty: the `org_data` and `group_activity` assets fill them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

USER_ID = "Paradigm user id, or its pseudonym when REPORTING_USER_ID_KEY is set (as in user_activities)"


def upgrade() -> None:
    op.create_table(
        "org_memberships",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("user_id", sa.BigInteger(), nullable=False, comment=USER_ID),
        sa.Column(
            "valid_from",
            sa.Date(),
            comment="First day the membership holds (until the user's next one); NULL: since always",
        ),
        sa.Column(
            "attribute", sa.String(), nullable=False, comment="The org file's column: department, site, directorate..."
        ),
        sa.Column(
            "group_name", sa.String(), nullable=False, comment="The user's group for that attribute (the file's cell)"
        ),
        comment="Who belongs to which group (REPORTING_ORG_DATA), effective-dated: replaced whole by each new file",
    )
    op.create_index("org_memberships_user", "org_memberships", ["company_id", "user_id", "attribute"])
    op.create_table(
        "org_data_file",
        sa.Column(
            "content_hash",
            sa.String(),
            nullable=False,
            comment="SHA-256 of the file loaded: the org_data data version",
        ),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, comment="When it was loaded (UTC)"),
        sa.Column("memberships", sa.Integer(), nullable=False, comment="Rows written to org_memberships"),
        sa.Column("bad_rows", sa.Integer(), nullable=False, comment="Rows of the file left out, each reported"),
        sa.Column("attributes", sa.String(), nullable=False, comment="The file's attributes, comma-separated"),
        sa.Column(
            "dated",
            sa.Boolean(),
            nullable=False,
            comment="The file has valid_from dates (else: one group for all history)",
        ),
        sa.PrimaryKeyConstraint("content_hash"),
        comment="The org file (REPORTING_ORG_DATA) the memberships come from: one row",
    )
    op.create_table(
        "group_activity",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("attribute", sa.String(), nullable=False, comment="The org file's attribute: department, site..."),
        sa.Column(
            "group_name",
            sa.String(),
            nullable=False,
            comment="A group of at least REPORTING_MIN_GROUP_SIZE people, (other): the smaller ones together, or "
            "(unassigned): active users without a group",
        ),
        sa.Column("grain", sa.String(), nullable=False, comment="day, week (ISO, Monday to Sunday) or month"),
        sa.Column("period_start", sa.Date(), nullable=False, comment="First day of the period"),
        sa.Column(
            "headcount",
            sa.Integer(),
            nullable=False,
            comment="People in the group per the org data on the period's last loaded day",
        ),
        sa.Column(
            "active_users",
            sa.Integer(),
            nullable=False,
            comment="Distinct users of the group active in the period, on its loaded days",
        ),
        sa.Column(
            "sessions_count",
            sa.Integer(),
            nullable=False,
            comment="Sessions of the group's users in the period (user_activities)",
        ),
        sa.Column(
            "queries_count",
            sa.Integer(),
            nullable=False,
            comment="Queries of the group's users in the period (user_activities)",
        ),
        sa.PrimaryKeyConstraint("company_id", "attribute", "group_name", "grain", "period_start"),
        comment="Activity per org group (REPORTING_ORG_DATA) and period, from the loaded days of user_activities; no "
        "group below REPORTING_MIN_GROUP_SIZE is named",
    )

    op.create_table(
        "group_segments",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("attribute", sa.String(), nullable=False, comment="The org file's attribute: department, site..."),
        sa.Column(
            "group_name",
            sa.String(),
            nullable=False,
            comment="As in group_activity: (other) holds the smaller groups",
        ),
        sa.Column(
            "as_of_date",
            sa.Date(),
            nullable=False,
            comment="The day of user_engagement's picture (its last loaded day)",
        ),
        sa.Column("headcount", sa.Integer(), nullable=False, comment="People in the group per the org data that day"),
        *(
            sa.Column(f"{s}_users", sa.Integer(), nullable=False, comment=f"Users of the group in segment {s}")
            for s in ("new", "power", "regular", "occasional", "dormant")
        ),
        sa.Column(
            "active_users_30d",
            sa.Integer(),
            comment="Users of the group active in the 30 days ending on as_of_date; NULL unless all 30 days are loaded",
        ),
        sa.Column(
            "sessions_30d", sa.Integer(), comment="Their sessions in those 30 days; NULL unless all 30 days are loaded"
        ),
        sa.Column(
            "active_users_prior_30d",
            sa.Integer(),
            comment="Users active in the 30 days before the 30 ending on as_of_date, in this group on the last of "
            "them; NULL unless all 30 days are loaded",
        ),
        sa.PrimaryKeyConstraint("company_id", "attribute", "group_name"),
        comment="Each org group as of user_engagement's day: its users per engagement segment (users of an unknown "
        "segment are not counted) and its active users over the last 30 days and the 30 before; no group below "
        "REPORTING_MIN_GROUP_SIZE is named",
    )


def downgrade() -> None:
    op.drop_table("group_segments")
    op.drop_table("group_activity")
    op.drop_table("org_data_file")
    op.drop_index("org_memberships_user", "org_memberships")
    op.drop_table("org_memberships")
