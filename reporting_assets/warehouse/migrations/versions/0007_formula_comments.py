"""The comments of the rates and averages of the KPI tables state their formulas as `metrics.py` writes them (column
names), so that they are generated from it. Comments only: PostgreSQL keeps them, SQLite does not (nothing to do).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UNDEFINED = "; NULL when undefined"
WINDOW = " over the 7 days ending on date; NULL when undefined or unless all 7 days are loaded"
# (table, column): (the comment before, the comment after)
COMMENTS = {
    ("adoption_satisfaction", "feedback_rate"): (
        "(likes + dislikes) / model responses" + UNDEFINED,
        "(likes_count + dislikes_count) / model_responses_count" + UNDEFINED,
    ),
    ("adoption_satisfaction", "satisfaction_rate"): (
        "likes / (likes + dislikes)" + UNDEFINED,
        "likes_count / (likes_count + dislikes_count)" + UNDEFINED,
    ),
    ("adoption_satisfaction", "queries_per_session"): (
        "user queries / sessions" + UNDEFINED,
        "user_queries_count / sessions_count" + UNDEFINED,
    ),
    ("adoption_satisfaction", "satisfaction_rate_7d"): (
        "likes / (likes + dislikes)" + WINDOW,
        "likes_count / (likes_count + dislikes_count)" + WINDOW,
    ),
    ("user_activity", "sessions_per_active_user"): (
        "sessions / active users" + UNDEFINED,
        "sessions_count / active_users" + UNDEFINED,
    ),
    ("user_activity", "queries_per_active_user"): (
        "user queries / active users" + UNDEFINED,
        "user_queries_count / active_users" + UNDEFINED,
    ),
}


def _comment(after: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":  # SQLite keeps no comments
        return
    for (table, column), comments in COMMENTS.items():
        op.alter_column(
            table, column, existing_type=sa.Float(), comment=comments[after], existing_comment=comments[not after]
        )


def upgrade() -> None:
    _comment(after=True)


def downgrade() -> None:
    _comment(after=False)
