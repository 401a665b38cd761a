"""The warehouse of the release before migrations: five raw tables, three KPI tables, alert_events.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _create(name: str, *columns: sa.schema.SchemaItem, **options: object) -> None:
    """Create the table unless it is there: a warehouse of the release before migrations already has its tables
    (created by `create_all`, which skipped existing ones), so this revision completes it rather than failing."""
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *columns, **options)


def upgrade() -> None:
    _create(
        "adoption_satisfaction",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("sessions_count", sa.Integer(), nullable=True, comment="Chat sessions started"),
        sa.Column("user_queries_count", sa.Integer(), nullable=True, comment="Queries sent by users"),
        sa.Column("model_responses_count", sa.Integer(), nullable=True, comment="Responses produced by models"),
        sa.Column("likes_count", sa.Integer(), nullable=True, comment="Responses liked"),
        sa.Column("dislikes_count", sa.Integer(), nullable=True, comment="Responses disliked"),
        sa.Column("copies_count", sa.Integer(), nullable=True, comment="Responses copied"),
        sa.Column(
            "feedback_rate",
            sa.Float(),
            nullable=True,
            comment="(likes + dislikes) / model responses; NULL when undefined",
        ),
        sa.Column(
            "satisfaction_rate", sa.Float(), nullable=True, comment="likes / (likes + dislikes); NULL when undefined"
        ),
        sa.Column(
            "queries_per_session", sa.Float(), nullable=True, comment="user queries / sessions; NULL when undefined"
        ),
        sa.Column("sessions_7d", sa.Integer(), nullable=True, comment="Sessions over the 7 days ending on date"),
        sa.Column(
            "satisfaction_rate_7d",
            sa.Float(),
            nullable=True,
            comment="likes / (likes + dislikes) over the 7 days ending on date; NULL when undefined",
        ),
        sa.PrimaryKeyConstraint("date", "company_id"),
        comment="Adoption and satisfaction per company and day (chat_sessions + chat_feedbacks)",
    )
    _create(
        "alert_events",
        sa.Column("fingerprint", sa.String(), nullable=False, comment="rule_name/company_id: one alert identity"),
        sa.Column("started_at", sa.Date(), nullable=False, comment="First day the condition held (this episode)"),
        sa.Column("rule_name", sa.String(), nullable=False, comment="Rule of alerts.yaml"),
        sa.Column("severity", sa.String(), nullable=False, comment="info, warning or critical"),
        sa.Column("asset", sa.String(), nullable=False, comment="KPI asset (table) the rule reads"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=True, comment="Paradigm company name"),
        sa.Column(
            "date",
            sa.Date(),
            nullable=False,
            comment="Latest day evaluated in this episode (its resolution day once resolved)",
        ),
        sa.Column("metric", sa.String(), nullable=False, comment="KPI column the rule watches"),
        sa.Column("value", sa.Float(), nullable=True, comment="Metric value on date; NULL when absent"),
        sa.Column("threshold", sa.Float(), nullable=True, comment="Limit the value was compared with on date"),
        sa.Column("status", sa.String(), nullable=False, comment="pending, firing or resolved"),
        sa.Column("resolved_at", sa.Date(), nullable=True, comment="First day the condition no longer held"),
        sa.Column(
            "last_notified_at", sa.DateTime(timezone=True), nullable=True, comment="Last notification sent (UTC)"
        ),
        sa.Column(
            "notifications_sent",
            sa.Integer(),
            nullable=False,
            comment="0 none, 1 firing sent, 2 firing and resolved sent",
        ),
        sa.Column("message", sa.String(), nullable=True, comment="Human-readable summary, as notified"),
        sa.PrimaryKeyConstraint("fingerprint", "started_at"),
        comment="Alert episodes per rule and company: pending -> firing -> resolved, with their notifications",
    )
    _create(
        "chat_feedbacks",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, comment="When this row was fetched (UTC)"),
        sa.Column("model_responses_count", sa.Integer(), nullable=True, comment="Responses produced by models"),
        sa.Column("likes_count", sa.Integer(), nullable=True, comment="Responses liked"),
        sa.Column("dislikes_count", sa.Integer(), nullable=True, comment="Responses disliked"),
        sa.Column("copies_count", sa.Integer(), nullable=True, comment="Responses copied"),
        sa.PrimaryKeyConstraint("date", "company_id"),
    )
    _create(
        "chat_sessions",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, comment="When this row was fetched (UTC)"),
        sa.Column("sessions_count", sa.Integer(), nullable=True, comment="Chat sessions started"),
        sa.Column("unique_models_count", sa.Integer(), nullable=True, comment="Distinct models used"),
        sa.Column("average_session_length_s", sa.Float(), nullable=True, comment="Average session length, seconds"),
        sa.Column("user_queries_count", sa.Integer(), nullable=True, comment="Queries sent by users"),
        sa.Column("model_responses_count", sa.Integer(), nullable=True, comment="Responses produced by models"),
        sa.Column(
            "model_responses_with_docs_count", sa.Integer(), nullable=True, comment="Responses that cited documents"
        ),
        sa.Column(
            "last_model_response_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Last model response of the day (UTC)",
        ),
        sa.Column("agent_threads_count", sa.Integer(), nullable=True, comment="Agent mode: threads started"),
        sa.Column("agent_unique_models_count", sa.Integer(), nullable=True, comment="Agent mode: distinct models used"),
        sa.Column(
            "agent_average_thread_length_s",
            sa.Float(),
            nullable=True,
            comment="Agent mode: average thread length, seconds",
        ),
        sa.Column("agent_user_queries_count", sa.Integer(), nullable=True, comment="Agent mode: queries sent by users"),
        sa.Column(
            "agent_model_responses_count",
            sa.Integer(),
            nullable=True,
            comment="Agent mode: responses produced by models",
        ),
        sa.Column(
            "agent_model_responses_with_docs_count",
            sa.Integer(),
            nullable=True,
            comment="Agent mode: responses that cited documents",
        ),
        sa.PrimaryKeyConstraint("date", "company_id"),
    )
    _create(
        "resource_usage",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("resource_type", sa.String(), nullable=False, comment="'tool' or 'document'"),
        sa.Column("resource_id", sa.String(), nullable=False, comment="Tool name, or document id as text"),
        sa.Column(
            "resource_name",
            sa.String(),
            nullable=True,
            comment="Tool name, or document title (file name when untitled)",
        ),
        sa.Column("usage_count", sa.Integer(), nullable=True, comment="Times used that day"),
        sa.Column(
            "share",
            sa.Float(),
            nullable=True,
            comment="Share of the company's uses of this resource type that day; NULL when undefined",
        ),
        sa.Column(
            "rank",
            sa.Integer(),
            nullable=True,
            comment="1 = the company's most used resource of this type that day (ties share a rank)",
        ),
        sa.PrimaryKeyConstraint("date", "company_id", "resource_type", "resource_id"),
        comment="Tools and documents used per company and day (tools_usage + used_documents)",
    )
    _create(
        "tools_usage",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, comment="When this row was fetched (UTC)"),
        sa.Column("tool_name", sa.String(), nullable=False, comment="Tool identifier"),
        sa.Column("usage_count", sa.Integer(), nullable=True, comment="Times the tool was used"),
        sa.PrimaryKeyConstraint("date", "company_id", "tool_name"),
    )
    _create(
        "used_documents",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, comment="When this row was fetched (UTC)"),
        sa.Column("document_id", sa.Integer(), nullable=False, comment="Paradigm document id"),
        sa.Column("document_filename", sa.String(), nullable=True, comment="File name"),
        sa.Column("document_title", sa.String(), nullable=True, comment="Document title"),
        sa.Column("usage_count", sa.Integer(), nullable=True, comment="Times the document was used in answers"),
        sa.PrimaryKeyConstraint("date", "company_id", "document_id"),
    )
    _create(
        "user_activities",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, comment="When this row was fetched (UTC)"),
        sa.Column("user_id", sa.Integer(), nullable=False, comment="Paradigm user id (no names or e-mails are stored)"),
        sa.Column("sessions_count", sa.Integer(), nullable=True, comment="Sessions of this user that day"),
        sa.Column("queries_count", sa.Integer(), nullable=True, comment="Queries of this user that day"),
        sa.Column(
            "last_activity_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Last activity of the user that day (UTC)",
        ),
        sa.Column(
            "active_users_count",
            sa.Integer(),
            nullable=True,
            comment="Active users of the company that day, as reported by the API",
        ),
        sa.PrimaryKeyConstraint("date", "company_id", "user_id"),
    )
    _create(
        "user_activity",
        sa.Column("date", sa.Date(), nullable=False, comment="Day of activity (UTC), the partition key"),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Paradigm company id"),
        sa.Column("company_name", sa.String(), nullable=False, comment="Paradigm company name"),
        sa.Column("active_users", sa.Integer(), nullable=True, comment="Distinct users active that day"),
        sa.Column(
            "active_users_7d",
            sa.Integer(),
            nullable=True,
            comment="Distinct users active over the 7 days ending on date",
        ),
        sa.Column(
            "active_users_30d",
            sa.Integer(),
            nullable=True,
            comment="Distinct users active over the 30 days ending on date",
        ),
        sa.Column(
            "stickiness",
            sa.Float(),
            nullable=True,
            comment="active_users / active_users_30d (DAU / MAU); NULL when undefined",
        ),
        sa.Column("sessions_count", sa.Integer(), nullable=True, comment="Chat sessions started (chat_sessions)"),
        sa.Column("user_queries_count", sa.Integer(), nullable=True, comment="Queries sent by users (chat_sessions)"),
        sa.Column(
            "sessions_per_active_user",
            sa.Float(),
            nullable=True,
            comment="sessions / active users; NULL when undefined",
        ),
        sa.Column(
            "queries_per_active_user",
            sa.Float(),
            nullable=True,
            comment="user queries / active users; NULL when undefined",
        ),
        sa.PrimaryKeyConstraint("date", "company_id"),
        comment="User engagement per company and day (user_activities + chat_sessions)",
    )


def downgrade() -> None:
    for name in (
        "user_activity",
        "user_activities",
        "used_documents",
        "tools_usage",
        "resource_usage",
        "chat_sessions",
        "chat_feedbacks",
        "alert_events",
        "adoption_satisfaction",
    ):
        op.drop_table(name)
