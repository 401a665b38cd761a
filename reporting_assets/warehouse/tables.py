"""Every warehouse table of the contract, in one place: the schema lives here and nowhere else."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Float, Index, Integer, MetaData, String, Table, func

from reporting_assets.metrics import RATIOS, RETENTION_RATE, Ratio

metadata = MetaData()


def _common(*, raw: bool) -> list[Column]:
    cols = [
        Column("date", Date, primary_key=True, comment="Day of activity (UTC), the partition key"),
        Column("company_id", Integer, primary_key=True, comment="Paradigm company id"),
        Column("company_name", String, nullable=False, comment="Paradigm company name"),
    ]
    if raw:
        cols.append(
            Column("ingested_at", DateTime(timezone=True), nullable=False, comment="When this row was fetched (UTC)")
        )
    return cols


def _count(name: str, comment: str, *, key: bool = False, window: int | None = None) -> Column:
    """A count >= 0; `window`: a rolling figure over that many days, NULL when they are not all loaded."""
    if window:
        return Column(
            name, Integer, comment=f"{comment}; NULL unless all {window} days are loaded", info={"window_days": window}
        )
    return Column(name, Integer, primary_key=key, comment=comment)


def _user_id(comment: str) -> Column:
    """A user's key: 64 bits, as a pseudonym (a positive 63-bit integer) takes them."""
    return Column("user_id", BigInteger, primary_key=True, comment=comment)


chat_sessions = Table(
    "chat_sessions",
    metadata,
    *_common(raw=True),
    _count("sessions_count", "Chat sessions started"),
    _count("unique_models_count", "Distinct models used"),
    Column("average_session_length_s", Float, comment="Average session length, seconds"),
    _count("user_queries_count", "Queries sent by users"),
    _count("model_responses_count", "Responses produced by models"),
    _count("model_responses_with_docs_count", "Responses that cited documents"),
    Column("last_model_response_at", DateTime(timezone=True), comment="Last model response of the day (UTC)"),
    _count("agent_threads_count", "Agent mode: threads started"),
    _count("agent_unique_models_count", "Agent mode: distinct models used"),
    Column("agent_average_thread_length_s", Float, comment="Agent mode: average thread length, seconds"),
    _count("agent_user_queries_count", "Agent mode: queries sent by users"),
    _count("agent_model_responses_count", "Agent mode: responses produced by models"),
    _count("agent_model_responses_with_docs_count", "Agent mode: responses that cited documents"),
)

chat_feedbacks = Table(
    "chat_feedbacks",
    metadata,
    *_common(raw=True),
    _count("model_responses_count", "Responses produced by models"),
    _count("likes_count", "Responses liked"),
    _count("dislikes_count", "Responses disliked"),
    _count("copies_count", "Responses copied"),
)

tools_usage = Table(
    "tools_usage",
    metadata,
    *_common(raw=True),
    Column("tool_name", String, primary_key=True, comment="Tool identifier"),
    _count("usage_count", "Times the tool was used"),
)

used_documents = Table(
    "used_documents",
    metadata,
    *_common(raw=True),
    _count("document_id", "Paradigm document id", key=True),
    Column("document_filename", String, comment="File name"),
    Column("document_title", String, comment="Document title"),
    _count("usage_count", "Times the document was used in answers"),
)

user_activities = Table(
    "user_activities",
    metadata,
    *_common(raw=True),
    _user_id("Paradigm user id, or its pseudonym when REPORTING_USER_ID_KEY is set (no names or e-mails are stored)"),
    _count("sessions_count", "Sessions of this user that day"),
    _count("queries_count", "Queries of this user that day"),
    Column("last_activity_at", DateTime(timezone=True), comment="Last activity of the user that day (UTC)"),
    _count("active_users_count", "Active users of the company that day, as reported by the API"),
)

company_members = Table(
    "company_members",
    metadata,
    *_common(raw=True),
    _count("total_historical_members", "Members the company ever had, as observed when that day was fetched"),
    _count("current_active_members", "Members the company had, as observed when that day was fetched"),
    comment="Daily snapshot of company members (GET /api/v2/reporting/users/): the figures observed when the day "
    "was fetched. History before the first fetch cannot be rebuilt.",
)


def _rate(name: str, note: str = "", *, ratio: Ratio | None = None, window: int | None = None) -> Column:
    """A fraction in [0, 1] (checked), NULL when its denominator is 0 (or its `window` is not all loaded): its
    comment is its formula in `metrics.py` (`RATIOS[name]`, or `ratio`) and `note`."""
    comment = f"{(ratio or RATIOS[name]).formula}{note}"
    if window:
        comment = f"{comment}; NULL when undefined or unless all {window} days are loaded"
        return Column(name, Float, comment=comment, info={"rate": True, "window_days": window})
    return Column(name, Float, comment=f"{comment}; NULL when undefined", info={"rate": True})


def _ratio(name: str) -> Column:
    """An average (may exceed 1), NULL when its denominator is 0: its formula is `RATIOS[name]`."""
    return Column(name, Float, comment=f"{RATIOS[name].formula}; NULL when undefined")


adoption_satisfaction = Table(
    "adoption_satisfaction",
    metadata,
    *_common(raw=False),
    _count("sessions_count", "Chat sessions started"),
    _count("user_queries_count", "Queries sent by users"),
    _count("model_responses_count", "Responses produced by models"),
    _count("likes_count", "Responses liked"),
    _count("dislikes_count", "Responses disliked"),
    _count("copies_count", "Responses copied"),
    _rate("feedback_rate"),
    _rate("satisfaction_rate"),
    _ratio("queries_per_session"),
    _count("sessions_7d", "Sessions over the 7 days ending on date", window=7),
    _rate("satisfaction_rate_7d", " over the 7 days ending on date", ratio=RATIOS["satisfaction_rate"], window=7),
    comment="Adoption and satisfaction per company and day (chat_sessions + chat_feedbacks)",
)

resource_usage = Table(
    "resource_usage",
    metadata,
    *_common(raw=False),
    Column("resource_type", String, primary_key=True, comment="'tool' or 'document'"),
    Column("resource_id", String, primary_key=True, comment="Tool name, or document id as text"),
    Column("resource_name", String, comment="Tool name, or document title (file name when untitled)"),
    _count("usage_count", "Times used that day"),
    Column(
        "share",
        Float,
        comment="Share of the company's uses of this resource type that day; NULL when undefined",
        info={"rate": True},
    ),
    _count("rank", "1 = the company's most used resource of this type that day (ties share a rank)"),
    comment="Tools and documents used per company and day (tools_usage + used_documents)",
)

user_activity = Table(
    "user_activity",
    metadata,
    *_common(raw=False),
    _count("active_users", "Distinct users active that day"),
    _count("active_users_7d", "Distinct users active over the 7 days ending on date", window=7),
    _count("active_users_30d", "Distinct users active over the 30 days ending on date", window=30),
    _rate("stickiness", " (DAU / MAU)", window=30),
    _count("sessions_count", "Chat sessions started (chat_sessions)"),
    _count("user_queries_count", "Queries sent by users (chat_sessions)"),
    _ratio("sessions_per_active_user"),
    _ratio("queries_per_active_user"),
    _rate("adoption_rate", " (company_members); NULL when members are unknown or 0", window=30),
    comment="User engagement per company and day (user_activities + chat_sessions, company_members optional)",
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("fingerprint", String, primary_key=True, comment="rule_name/company_id: one alert identity"),
    Column("started_at", Date, primary_key=True, comment="First day the condition held (this episode)"),
    Column("rule_name", String, nullable=False, comment="Rule of alerts.yaml"),
    Column("severity", String, nullable=False, comment="info, warning or critical"),
    Column("asset", String, nullable=False, comment="KPI asset (table) the rule reads"),
    Column("company_id", Integer, nullable=False, comment="Paradigm company id"),
    Column("company_name", String, comment="Paradigm company name"),
    Column(
        "date", Date, nullable=False, comment="Latest day evaluated in this episode (its resolution day once resolved)"
    ),
    Column("metric", String, nullable=False, comment="KPI column the rule watches"),
    Column("value", Float, comment="Metric value on date; NULL when absent"),
    Column("threshold", Float, comment="Limit the value was compared with on date"),
    Column("status", String, nullable=False, comment="pending, firing or resolved"),
    Column("resolved_at", Date, comment="First day the condition no longer held"),
    Column("last_notified_at", DateTime(timezone=True), comment="Last notification sent (UTC)"),
    Column("notifications_sent", Integer, nullable=False, comment="0 none, 1 firing sent, 2 firing and resolved sent"),
    Column("message", String, comment="Human-readable summary, as notified"),
    comment="Alert episodes per rule and company: pending -> firing -> resolved, with their notifications",
)

load_log = Table(
    "load_log",
    metadata,
    Column("asset", String, nullable=False, comment="Asset (table) whose day this is: a raw asset, or a KPI asset"),
    Column("date", Date, nullable=False, comment="Day loaded (UTC), the partition key"),
    Column(
        "company_scope",
        Integer,
        comment="PARADIGM_COMPANY_ID of the load; NULL = every company the token sees",
    ),
    Column("loaded_at", DateTime(timezone=True), nullable=False, comment="When the day was written (UTC)"),
    Column("rows", Integer, nullable=False, comment="Rows written for that day (0 = loaded, no activity)"),
    Column("run_id", String, comment="Dagster run that wrote it ('upgrade' when derived from older rows)"),
    Column(
        "purged_at",
        DateTime(timezone=True),
        comment="When the day's per-user rows were deleted (REPORTING_USER_RETENTION_DAYS); NULL = kept. A purged day "
        "stays loaded: the KPI figures computed from it are kept, never recomputed from what is left",
    ),
    info={"order_by": ("asset", "date", "company_scope")},  # its key, NULL scope included (see load_log_key)
    comment="Load ledger: which days of which asset were loaded. A day absent here was never loaded, which "
    "is not the same as a day without activity.",
)
# One row per (asset, date, scope); a NULL scope counts as one value, hence the expression.
Index("load_log_key", load_log.c.asset, load_log.c.date, func.coalesce(load_log.c.company_scope, -1), unique=True)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column(
        "fingerprint",
        String,
        primary_key=True,
        comment="The alert episode's fingerprint, run_failure/<run id>, or weekly_digest/<ISO week>",
    ),
    Column("started_at", Date, primary_key=True, comment="The alert episode's first day (a digest: its week's Monday)"),
    Column("transition", String, primary_key=True, comment="firing, resolved, reminder or digest"),
    Column(
        "occurrence", String, primary_key=True, comment="Which reminder: the notification it follows (UTC); '' else"
    ),
    Column(
        "channel", String, primary_key=True, comment="SHA-256 of the channel's URL (never the URL: it holds secrets)"
    ),
    Column("delivered_at", DateTime(timezone=True), nullable=False, comment="When the channel accepted it (UTC)"),
    comment="Notifications delivered, one row per notification and channel: each alert transition, run failure and "
    "weekly digest reaches each channel once",
)

alert_channels = Table(
    "alert_channels",
    metadata,
    Column("channel", String, primary_key=True, comment="SHA-256 of the channel's URL (never the URL)"),
    Column("failing_since", DateTime(timezone=True), nullable=False, comment="First refusal of this failing streak"),
    Column("failures", Integer, nullable=False, comment="Refusals in a row"),
    Column("retry_at", DateTime(timezone=True), nullable=False, comment="No new attempt before this time (backoff)"),
    Column("reported_at", DateTime(timezone=True), comment="When the streak was reported (after 24 h of refusals)"),
    comment="Alert channels that refuse notifications: retried with backoff; a channel that accepts is removed",
)

user_engagement = Table(
    "user_engagement",
    metadata,
    Column("company_id", Integer, primary_key=True, comment="Paradigm company id"),
    Column("company_name", String, nullable=False, comment="Paradigm company name"),
    _user_id("Paradigm user id, or its pseudonym when REPORTING_USER_ID_KEY is set"),
    Column(
        "first_active_date",
        Date,
        nullable=False,
        comment="First day seen active since the first loaded day of user_activities (purged days excluded): not "
        "necessarily the user's first day ever",
    ),
    Column("last_active_date", Date, nullable=False, comment="Last day seen active"),
    _count("active_days", "Days active in the loaded history (purged days excluded)"),
    _count("active_days_30d", "Days active in the 30 days ending on as_of_date"),
    _count("sessions_30d", "Sessions in the 30 days ending on as_of_date"),
    _count("queries_30d", "Queries in the 30 days ending on as_of_date"),
    Column(
        "segment",
        String,
        comment="new (first active in the last 30 days), else by active days of the last 30: power >= 12, regular "
        "4-11, occasional 1-3, dormant 0; NULL when those 30 days are not all loaded",
    ),
    _count("days_loaded_30d", "Days of the 30 ending on as_of_date loaded in user_activities (30 = whole window)"),
    Column("as_of_date", Date, nullable=False, comment="Last day loaded in user_activities: the picture's date"),
    comment="Each user's engagement as of the last day loaded (user_activities): one row per company and user",
)

retention_cohorts = Table(
    "retention_cohorts",
    metadata,
    Column("company_id", Integer, primary_key=True, comment="Paradigm company id"),
    Column("company_name", String, nullable=False, comment="Paradigm company name"),
    Column("cohort_month", Date, primary_key=True, comment="First day of the month of the users' first activity"),
    _count("month_offset", "Months after the cohort month (0 = the cohort month itself)", key=True),
    _count("cohort_users", "Users first active in the cohort month"),
    _count("retained_users", "Users of the cohort active at least once in month cohort_month + month_offset"),
    _rate("retention_rate", ratio=RETENTION_RATE),
    _count("days_loaded", "Days of month cohort_month + month_offset loaded in user_activities"),
    Column(
        "left_censored",
        Boolean,
        nullable=False,
        comment="True for the first loaded month: its cohort holds everyone already active before it",
    ),
    comment="Monthly retention cohorts per company (user_activities): who comes back, month after month",
)

GRAINS = ("day", "week", "month", "quarter", "year")  # periods of active_users_by_period (weeks: ISO, from Monday)

active_users_by_period = Table(
    "active_users_by_period",
    metadata,
    Column("company_id", Integer, primary_key=True, comment="Paradigm company id"),
    Column("grain", String, primary_key=True, comment="day, week (ISO, Monday to Sunday), month, quarter or year"),
    Column("period_start", Date, primary_key=True, comment="First day of the period"),
    Column("period_end", Date, nullable=False, comment="Last day of the period"),
    _count("active_users", "Distinct users active in the period (user_activities), on its loaded days"),
    _count("members", "current_active_members on the period's last day with a members snapshot (company_members)"),
    _count("days_loaded", "Days of the period counted: loaded in user_activities, and not purged when counted"),
    _count("days_in_period", "Days in the period: a period with fewer days loaded is not wholly loaded"),
    comment="Distinct active users per company and period (day, ISO week, month, quarter, year), counted once from "
    "the per-user rows and kept: a period whose per-user rows were purged keeps its figures",
)

pseudonymisation = Table(
    "pseudonymisation",
    metadata,
    Column(
        "key_check",
        String,
        primary_key=True,
        comment="HMAC-SHA256 of a fixed text under REPORTING_USER_ID_KEY: tells whether the key changed "
        "(never the key)",
    ),
    Column("since", DateTime(timezone=True), nullable=False, comment="When stored user ids were pseudonymised (UTC)"),
    comment="One row when the warehouse's user ids are pseudonyms (REPORTING_USER_ID_KEY); none when they are raw",
)

custom_kpis = Table(
    "custom_kpis",
    metadata,
    *_common(raw=False),
    Column("kpi", String, primary_key=True, comment="The KPI's name in REPORTING_KPIS"),
    Column("label", String, nullable=False, comment="The KPI's English label in REPORTING_KPIS"),
    Column(
        "numerator", Float, nullable=False, comment="The KPI's sum (a ratio's numerator) that day; 0 without activity"
    ),
    Column("denominator", Float, comment="A ratio's denominator that day; NULL for a sum"),
    Column("value", Float, comment="numerator (a sum) or numerator / denominator (a ratio); NULL when undefined"),
    comment="Your own KPIs (REPORTING_KPIS) per company and loaded day: a day not loaded has no row",
)

GROUP_GRAINS = ("day", "week", "month")  # periods of group_activity (weeks: ISO, from Monday)
UNASSIGNED, OTHER = "(unassigned)", "(other)"  # group_activity's own groups: an org file's cell may not take them
org_memberships = Table(
    "org_memberships",
    metadata,
    Column("company_id", Integer, nullable=False, comment="Paradigm company id"),
    Column(
        "user_id",
        BigInteger,
        nullable=False,
        comment="Paradigm user id, or its pseudonym when REPORTING_USER_ID_KEY is set (as in user_activities)",
    ),
    Column(
        "valid_from", Date, comment="First day the membership holds (until the user's next one); NULL: since always"
    ),
    Column("attribute", String, nullable=False, comment="The org file's column: department, site, directorate..."),
    Column("group_name", String, nullable=False, comment="The user's group for that attribute (the file's cell)"),
    comment="Who belongs to which group (REPORTING_ORG_DATA), effective-dated: replaced whole by each new file",
)
Index("org_memberships_user", org_memberships.c.company_id, org_memberships.c.user_id, org_memberships.c.attribute)

org_data_file = Table(
    "org_data_file",
    metadata,
    Column("content_hash", String, primary_key=True, comment="SHA-256 of the file loaded: the org_data data version"),
    Column("loaded_at", DateTime(timezone=True), nullable=False, comment="When it was loaded (UTC)"),
    Column("memberships", Integer, nullable=False, comment="Rows written to org_memberships"),
    Column("bad_rows", Integer, nullable=False, comment="Rows of the file left out, each reported"),
    Column("attributes", String, nullable=False, comment="The file's attributes, comma-separated"),
    Column("dated", Boolean, nullable=False, comment="The file has valid_from dates (else: one group for all history)"),
    comment="The org file (REPORTING_ORG_DATA) the memberships come from: one row",
)

group_activity = Table(
    "group_activity",
    metadata,
    Column("company_id", Integer, primary_key=True, comment="Paradigm company id"),
    Column("attribute", String, primary_key=True, comment="The org file's attribute: department, site..."),
    Column(
        "group_name",
        String,
        primary_key=True,
        comment="A group of at least REPORTING_MIN_GROUP_SIZE people, (other): the smaller ones together, or "
        "(unassigned): active users without a group",
    ),
    Column("grain", String, primary_key=True, comment="day, week (ISO, Monday to Sunday) or month"),
    Column("period_start", Date, primary_key=True, comment="First day of the period"),
    Column(
        "headcount",
        Integer,
        nullable=False,
        comment="People in the group per the org data on the period's last loaded day",
    ),
    Column(
        "active_users",
        Integer,
        nullable=False,
        comment="Distinct users of the group active in the period, on its loaded days",
    ),
    Column(
        "sessions_count",
        Integer,
        nullable=False,
        comment="Sessions of the group's users in the period (user_activities)",
    ),
    Column(
        "queries_count", Integer, nullable=False, comment="Queries of the group's users in the period (user_activities)"
    ),
    comment="Activity per org group (REPORTING_ORG_DATA) and period, from the loaded days of user_activities; no "
    "group below REPORTING_MIN_GROUP_SIZE is named",
)

SEGMENT_COLUMNS = ("new_users", "power_users", "regular_users", "occasional_users", "dormant_users")
RECENT_COLUMNS = ("active_users_30d", "sessions_30d", "active_users_prior_30d")  # group_segments' 30-day figures
group_segments = Table(
    "group_segments",
    metadata,
    Column("company_id", Integer, primary_key=True, comment="Paradigm company id"),
    Column("attribute", String, primary_key=True, comment="The org file's attribute: department, site..."),
    Column("group_name", String, primary_key=True, comment="As in group_activity: (other) holds the smaller groups"),
    Column("as_of_date", Date, nullable=False, comment="The day of user_engagement's picture (its last loaded day)"),
    Column("headcount", Integer, nullable=False, comment="People in the group per the org data that day"),
    *(
        Column(name, Integer, nullable=False, comment=f"Users of the group in segment {name.removesuffix('_users')}")
        for name in SEGMENT_COLUMNS
    ),
    _count("active_users_30d", "Users of the group active in the 30 days ending on as_of_date", window=30),
    _count("sessions_30d", "Their sessions in those 30 days", window=30),
    _count(
        "active_users_prior_30d",
        "Users active in the 30 days before the 30 ending on as_of_date, in this group on the last of them",
        window=30,
    ),
    comment="Each org group as of user_engagement's day: its users per engagement segment (users of an unknown "
    "segment are not counted) and its active users over the last 30 days and the 30 before; no group below "
    "REPORTING_MIN_GROUP_SIZE is named",
)

ERASED_USER = (
    "The erased user as per-user tables stored them: the pseudonym (REPORTING_USER_ID_KEY), else user_hash; never "
    "the raw id"
)
erased_users = Table(
    "erased_users",
    metadata,
    Column("company_id", Integer, primary_key=True, comment="Paradigm company id"),
    Column("user_hash", BigInteger, primary_key=True, comment="HMAC-SHA256 of the user under erasure_key.secret"),
    Column("user_id", BigInteger, nullable=False, comment=ERASED_USER),
    Column("erased_at", DateTime(timezone=True), nullable=False, comment="When `forget` erased the user (UTC)"),
    comment="Users erased by `python -m reporting_assets.users forget`: every load drops their rows before writing",
)

erasure_key = Table(
    "erasure_key",
    metadata,
    Column("secret", String, primary_key=True, comment="Random secret of erased_users.user_hash (never a BI grant)"),
    Column("created_at", DateTime(timezone=True), nullable=False, comment="When it was drawn (UTC)"),
    comment="One row: the secret erased_users.user_hash is made with, independent of REPORTING_USER_ID_KEY (so an "
    "erasure holds when the key changes)",
)

RAW_TABLES: dict[str, Table] = {
    t.name: t for t in (chat_sessions, chat_feedbacks, tools_usage, used_documents, user_activities, company_members)
}
KPI_TABLES: dict[str, Table] = {t.name: t for t in (adoption_satisfaction, resource_usage, user_activity)}
PERIOD_TABLES: dict[str, Table] = {active_users_by_period.name: active_users_by_period}
USER_TABLES: dict[str, Table] = {t.name: t for t in (user_engagement, retention_cohorts)}
