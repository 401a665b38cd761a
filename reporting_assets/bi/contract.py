"""The BI contract's registry: every view a BI tool reads, its grain, its columns (name, type, description, unit,
kind) and the ratio each rate is made of. The SQL views (`bi/views.py`), their comments, the extracts and the kits
are all generated from here; `contract_v1.json` freezes the names and types BI users depend on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite

from reporting_assets import personal
from reporting_assets.metrics import PERIOD_ADOPTION, RATIOS, RETENTION_RATE, Ratio, latest_names_select
from reporting_assets.warehouse import tables as t

VERSION = 1

Type = Literal["date", "integer", "bigint", "float", "text", "boolean"]
# key: identifies the row; attribute: describes it; the others are figures, and say how they aggregate over days
# and companies (AGGREGATION): every kit's measures and the docs are generated from that, no kit decides
Kind = Literal["key", "attribute", "count", "level", "rate", "distinct"]
AGGREGATION: dict[Kind, str] = {
    "count": "additive: sum it over days and companies",
    "level": "level: each company's value on the period's last loaded day, then summed over companies; never "
    "summed over days",
    "rate": "rate: its parts summed over the rows where every part is known, then divided; never averaged",
    "distinct": "distinct people: summed over companies within one period (a day of a daily view, one grain and "
    "period of fct_active_users), never over periods: each period's people are counted once",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    description: str
    kind: Kind = "attribute"
    unit: str | None = None
    ratio: Ratio | None = None  # a rate: its numerator and denominator, columns of the same view
    api: str | None = None  # "<raw table>.<column>": the API field it is, whose own description (`metadata`) wins

    @property
    def aggregation(self) -> str | None:
        """How a BI tool may aggregate it (None: a key or an attribute, grouped by, never aggregated)."""
        return AGGREGATION.get(self.kind)  # type: ignore[call-overload]

    @property
    def comment(self) -> str:
        """What a BI tool shows of it: the column's comment on PostgreSQL, the dataset column's description."""
        return f"{self.description} (unit: {self.unit})" if self.unit else self.description


@dataclass(frozen=True)
class View:
    name: str
    grain: str
    description: str
    fields: tuple[Field, ...]
    sources: tuple[Table, ...]  # the tables it reads: a reader needs SELECT on them, row-level security scopes them
    body: str  # SELECT giving every field by name: `{bi}` is the contract's schema prefix, `{today}` the UTC date,
    # `{first_day}` the first partition's
    per_company: bool = True  # False: rows about days, not companies (no company scope applies)

    @property
    def per_user(self) -> bool:
        """One row per user (`personal.VIEWS`): absent with REPORTING_USER_LISTS=off."""
        return self.name in personal.VIEWS

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def periodic(self) -> bool:
        """One row per company, grain and period: its figures are read one grain and one period at a time."""
        return "period_start" in self.names

    @property
    def dated(self) -> bool:
        """One row per day: joined to dim_date, a level is read on each period's last loaded day."""
        return "date" in self.names and self.name != "dim_date"


COLUMN_TYPES: dict[str, Type] = {  # the warehouse column types the views carry
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "FLOAT": "float",
    "DATE": "date",
    "BOOLEAN": "boolean",
}


def _from(
    table: Table, name: str, kind: Kind, *, type_: Type | None = None, unit: str | None = None, api: str | None = None
) -> Field:
    """A column as its table describes it; a raw table's column is an API field (`api`: the raw column a KPI
    column copies)."""
    column = table.c[name]
    guessed = COLUMN_TYPES.get(str(column.type), "text")
    if unit is None and kind in ("count", "level", "distinct"):
        unit = "integer"
    if api is None and table.name in t.RAW_TABLES and name not in ("date", "company_id", "company_name"):
        api = f"{table.name}.{name}"
    return Field(name, type_ or guessed, column.comment or name, kind, unit, api=api)


def _rate(name: str, ratio: Ratio, description: str) -> Field:
    """A ratio of sums: a fraction in [0, 1] (shown as a percentage), or an average per session or user. Its
    formula is `ratio`'s (`metrics.py`); `description` says what it means."""
    unit = "average" if "_per_" in name else "fraction"
    return Field(name, "float", description, "rate", unit, ratio)


DATE = Field("date", "date", "Day of activity (UTC), the partition key", "key")
COMPANY = Field("company_id", "integer", "Paradigm company id (dim_company.company_id)", "key")
LOADED = {name: f"{name}_loaded" for name in t.RAW_TABLES}


dim_date = View(
    "dim_date",
    "one row per day, from the first partition (PARADIGM_START_DATE, or the first day loaded if earlier) to today "
    "(UTC)",
    "Calendar of the warehouse: mark it as the date table. The *_loaded flags tell a day without activity (loaded, "
    "no row) from a day never fetched (not loaded).",
    (
        Field("date", "date", "The day (UTC)", "key"),
        Field("year", "integer", "Calendar year"),
        Field("quarter", "integer", "Calendar quarter, 1-4"),
        Field("month", "integer", "Month number, 1-12"),
        Field("month_start", "date", "First day of the month"),
        Field("iso_year", "integer", "ISO 8601 week-numbering year"),
        Field("iso_week", "integer", "ISO 8601 week number, 1-53"),
        Field("week_start", "date", "Monday of the ISO week"),
        Field("weekday", "integer", "ISO weekday: 1 = Monday ... 7 = Sunday"),
        Field("is_weekend", "boolean", "Saturday or Sunday"),
        *(Field(flag, "boolean", f"The day is loaded in {name} (the load ledger)") for name, flag in LOADED.items()),
    ),
    (t.load_log,),
    body=f"""
WITH RECURSIVE days(date) AS (
  SELECT MIN(date) FROM (SELECT MIN(date) AS date FROM load_log UNION ALL SELECT {{first_day}}) AS starts
  UNION ALL SELECT {{next_day}} FROM days WHERE date < {{today}}
), loaded AS (
  SELECT date, {", ".join(f"MAX(CASE WHEN asset = '{n}' THEN 1 ELSE 0 END) AS {f}" for n, f in LOADED.items())}
  FROM load_log GROUP BY date
)
SELECT days.date, {{calendar}}, {", ".join(f"COALESCE(loaded.{f}, 0) AS {f}" for f in LOADED.values())}
FROM days LEFT JOIN loaded ON loaded.date = days.date
WHERE days.date IS NOT NULL""",
    per_company=False,
)

_named = (t.adoption_satisfaction, t.user_activity, t.company_members)
_seen = "\n  UNION ALL ".join(f"SELECT company_id, date FROM {table.name}" for table in _named)
_latest = latest_names_select(*_named).compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
dim_company = View(
    "dim_company",
    "one row per company",
    "Companies of the instance, by their latest name, with the span of their data and their latest members.",
    (
        COMPANY,
        Field("company_name", "text", "The company's latest name"),
        Field("first_seen_date", "date", "First day with a row of this company (KPIs or members)"),
        Field("last_seen_date", "date", "Last day with a row of this company (KPIs or members)"),
        Field("first_loaded_date", "date", "First day loaded in chat_sessions (the load ledger)"),
        Field("last_loaded_date", "date", "Last day loaded in chat_sessions (the load ledger)"),
        # the latest snapshot describes the company: members per period are fct_active_users' (never a sum here)
        Field("current_active_members", "integer", "Members at the latest snapshot (company_members)", unit="integer"),
        Field(
            "total_historical_members",
            "integer",
            "Members ever, at the latest snapshot (company_members)",
            unit="integer",
        ),
    ),
    _named,
    body=f"""
WITH latest AS (
  {_latest}
), seen AS (
  SELECT company_id, MIN(date) AS first_seen_date, MAX(date) AS last_seen_date
  FROM ({_seen}) AS named GROUP BY company_id
), members AS (
  SELECT company_id, current_active_members, total_historical_members,
    ROW_NUMBER() OVER (PARTITION BY company_id ORDER BY date DESC) AS n
  FROM company_members
), span AS (
  SELECT MIN(date) AS first_loaded_date, MAX(date) AS last_loaded_date FROM {{bi}}dim_date
  WHERE chat_sessions_loaded
)
SELECT latest.company_id, latest.company_name, first_seen_date, last_seen_date, first_loaded_date,
  last_loaded_date, members.current_active_members, members.total_historical_members
FROM latest
JOIN seen ON seen.company_id = latest.company_id
CROSS JOIN span
LEFT JOIN members ON members.company_id = latest.company_id AND members.n = 1""",
)

_a, _u = t.adoption_satisfaction, t.user_activity
fct_daily_usage = View(
    "fct_daily_usage",
    "one row per company and loaded day with activity",
    "Daily usage of each company: the counts every ratio is made of, and the ratios. To aggregate a ratio over "
    "days or companies, sum its numerator and denominator, then divide.",
    (
        DATE,
        COMPANY,
        _from(_a, "sessions_count", "count", api="chat_sessions.sessions_count"),
        _from(_a, "user_queries_count", "count", api="chat_sessions.user_queries_count"),
        _from(_a, "model_responses_count", "count", api="chat_sessions.model_responses_count"),
        _from(_a, "likes_count", "count", api="chat_feedbacks.likes_count"),
        _from(_a, "dislikes_count", "count", api="chat_feedbacks.dislikes_count"),
        _from(_a, "copies_count", "count", api="chat_feedbacks.copies_count"),
        _from(_u, "active_users", "distinct"),
        _from(_u, "active_users_7d", "level"),
        _from(_u, "active_users_30d", "level"),
        _from(t.company_members, "current_active_members", "level"),
        _from(t.company_members, "total_historical_members", "level"),
        *(
            _rate(name, RATIOS[name], description)
            for name, description in (
                ("satisfaction_rate", "Share of the rated responses that were liked"),
                ("feedback_rate", "Share of the responses that were rated (liked or disliked)"),
                ("queries_per_session", "User queries per session (an average, may exceed 1)"),
                ("stickiness", "Daily active users over 30-day active users (DAU / MAU)"),
                ("sessions_per_active_user", "Sessions per active user"),
                ("queries_per_active_user", "User queries per active user"),
                ("adoption_rate", "Share of the current members active over the last 30 days"),
            )
        ),
    ),
    (t.adoption_satisfaction, t.user_activity, t.company_members),
    body="""
SELECT COALESCE(a.date, u.date) AS date, COALESCE(a.company_id, u.company_id) AS company_id,
  COALESCE(a.sessions_count, u.sessions_count) AS sessions_count,
  COALESCE(a.user_queries_count, u.user_queries_count) AS user_queries_count,
  a.model_responses_count, a.likes_count, a.dislikes_count, a.copies_count,
  u.active_users, u.active_users_7d, u.active_users_30d, m.current_active_members, m.total_historical_members
FROM adoption_satisfaction a
FULL OUTER JOIN user_activity u ON u.date = a.date AND u.company_id = a.company_id
LEFT JOIN company_members m
  ON m.date = COALESCE(a.date, u.date) AND m.company_id = COALESCE(a.company_id, u.company_id)""",
)

fct_tool_usage = View(
    "fct_tool_usage",
    "one row per company, loaded day and tool used",
    "Tools used per company and day (tools_usage).",
    (DATE, COMPANY, _from(t.tools_usage, "tool_name", "key"), _from(t.tools_usage, "usage_count", "count")),
    (t.tools_usage,),
    body="SELECT date, company_id, tool_name, usage_count FROM tools_usage",
)

_d = t.used_documents
fct_document_usage = View(
    "fct_document_usage",
    "one row per company, loaded day and document used",
    "Documents used in answers per company and day (used_documents).",
    (
        DATE,
        COMPANY,
        _from(_d, "document_id", "key", type_="integer"),
        _from(_d, "document_title", "attribute"),
        _from(_d, "document_filename", "attribute"),
        _from(_d, "usage_count", "count"),
    ),
    (t.used_documents,),
    body="SELECT date, company_id, document_id, document_title, document_filename, usage_count FROM used_documents",
)

_e = t.user_engagement
fct_user_engagement = View(
    "fct_user_engagement",
    "one row per company and user, as of the last day loaded",
    "Each user's engagement (user_engagement): user ids are pseudonyms when REPORTING_USER_ID_KEY is set.",
    (
        COMPANY,
        _from(_e, "user_id", "key"),
        _from(_e, "first_active_date", "attribute"),
        _from(_e, "last_active_date", "attribute"),
        _from(_e, "active_days", "count"),
        _from(_e, "active_days_30d", "count"),
        _from(_e, "sessions_30d", "count"),
        _from(_e, "queries_30d", "count"),
        _from(_e, "segment", "attribute"),
        _from(_e, "days_loaded_30d", "attribute"),
        _from(_e, "as_of_date", "attribute"),
    ),
    (t.user_engagement,),
    body="SELECT company_id, user_id, first_active_date, last_active_date, active_days, active_days_30d, "
    "sessions_30d, queries_30d, segment, days_loaded_30d, as_of_date FROM user_engagement",
)

_r = t.retention_cohorts
fct_retention = View(
    "fct_retention",
    "one row per company, cohort month and month after it",
    "Monthly retention cohorts (retention_cohorts): who comes back, month after month.",
    (
        COMPANY,
        _from(_r, "cohort_month", "key"),
        _from(_r, "month_offset", "key"),
        _from(_r, "cohort_users", "count"),
        _from(_r, "retained_users", "count"),
        _rate("retention_rate", RETENTION_RATE, "Share of the cohort active in that month"),
        _from(_r, "days_loaded", "attribute"),
        _from(_r, "left_censored", "attribute"),
    ),
    (t.retention_cohorts,),
    body="SELECT company_id, cohort_month, month_offset, cohort_users, retained_users, days_loaded, left_censored "
    "FROM retention_cohorts",
)

_p = t.active_users_by_period
fct_active_users = View(
    "fct_active_users",
    "one row per company, grain and period with a loaded day",
    "Distinct people active per company in each day, ISO week (from Monday), month, quarter and year, counted once "
    "from the per-user rows: pick one grain, never add periods up. Members are read on the period's last day with "
    "a snapshot. A period is not wholly loaded when days_loaded < days_in_period (the period in progress).",
    (
        COMPANY,
        _from(_p, "grain", "key"),
        _from(_p, "period_start", "key"),
        _from(_p, "period_end", "attribute"),
        _from(_p, "active_users", "distinct"),
        _from(_p, "members", "level"),
        _rate("adoption_rate", PERIOD_ADOPTION, "Share of the members active in the period"),
        _from(_p, "days_loaded", "attribute"),
        _from(_p, "days_in_period", "attribute"),
    ),
    (t.active_users_by_period,),
    body="SELECT company_id, grain, period_start, period_end, active_users, members, days_loaded, days_in_period "
    "FROM active_users_by_period",
)

_k = t.custom_kpis
fct_custom_kpi = View(
    "fct_custom_kpi",
    "one row per company, loaded day and KPI of REPORTING_KPIS",
    "Your own KPIs (custom_kpis): pick one KPI (kpi), then sum numerator and denominator and divide for a ratio; "
    "each kit has one measure per KPI that does so.",
    (
        DATE,
        COMPANY,
        _from(_k, "kpi", "key"),
        _from(_k, "label", "attribute"),
        _from(_k, "numerator", "count", unit="number"),
        _from(_k, "denominator", "count", unit="number"),
        Field(
            "value",
            "float",
            "The day's value: numerator (a sum), or numerator / denominator (a ratio); never "
            "add values up: use the KPI's measure",
            "attribute",
        ),
    ),
    (t.custom_kpis,),
    body="SELECT date, company_id, kpi, label, numerator, denominator, value FROM custom_kpis",
)

_g = t.group_activity
_GROUP_KEYS = (COMPANY, _from(_g, "attribute", "key"), _from(_g, "group_name", "key"))
dim_group = View(
    "dim_group",
    "one row per company, org attribute and group, as of the last loaded day",
    "Groups of the org data (REPORTING_ORG_DATA) with their headcount on the last loaded day. No group below "
    "REPORTING_MIN_GROUP_SIZE is named: those are in (other), never below it either.",
    (*_GROUP_KEYS, Field("headcount", "integer", "People in the group on the last loaded day", "count", "integer")),
    (t.group_activity,),
    body="""
SELECT g.company_id, g.attribute, g.group_name, g.headcount
FROM group_activity g
WHERE g.grain = 'day' AND g.period_start = (
  SELECT MAX(l.period_start) FROM group_activity l WHERE l.grain = 'day' AND l.company_id = g.company_id
)""",
)

fct_group_activity = View(
    "fct_group_activity",
    "one row per company, org attribute, group, grain and period with a loaded day",
    "Activity per org group (REPORTING_ORG_DATA) in each day, ISO week (from Monday) and month: pick one attribute "
    "and one grain. Activity counts in the group the user was in that day. No group below REPORTING_MIN_GROUP_SIZE "
    "is named: those are in (other), never below it either.",
    (
        *_GROUP_KEYS,
        _from(_g, "grain", "key"),
        _from(_g, "period_start", "key"),
        _from(_g, "headcount", "level"),
        _from(_g, "active_users", "distinct"),
        _from(_g, "sessions_count", "count"),
        _from(_g, "queries_count", "count"),
    ),
    (t.group_activity,),
    body="SELECT company_id, attribute, group_name, grain, period_start, headcount, active_users, sessions_count, "
    "queries_count FROM group_activity",
)

VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        dim_date,
        dim_company,
        fct_daily_usage,
        fct_tool_usage,
        fct_document_usage,
        fct_active_users,
        fct_user_engagement,
        fct_retention,
        fct_custom_kpi,
        dim_group,
        fct_group_activity,
    )
}
