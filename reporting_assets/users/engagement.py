"""Each user's engagement and the monthly retention cohorts, from `user_activities` and its ledger.

SQL groups the history per user in the database, so memory holds one row per user (of a range of companies), never
the days, and counts the cohorts' users there too; pandas then applies the definitions (`docs/users-and-privacy.md`):
- as of D, the last day loaded: "the last 30 days" are D-29..D; a user first active in them is `new`, else by
  active days in them `power` (12+), `regular` (4-11), `occasional` (1-3), `dormant` (0); NULL unless those 30
  days are all loaded (`days_loaded_30d`);
- a cohort is the month of a user's first activity; `left_censored` marks the first loaded month, whose cohort
  holds everyone already active before it.
Purged days (per-user rows deleted by `REPORTING_USER_RETENTION_DAYS`) are not loaded here: cohorts of months up
to the last purged one keep the figures stored before (`frozen` in `cohorts`), and the next month is
left-censored.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, Date, case, cast, func, literal, select

from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ACTIVE_WINDOW_DAYS, RETENTION_RATE, latest_names_select
from reporting_assets.warehouse.company_ranges import EVERY_COMPANY, Companies, clause
from reporting_assets.warehouse.ledger import covered
from reporting_assets.warehouse.tables import retention_cohorts, user_activities, user_engagement

SEGMENTS = (("power", 12), ("regular", 4), ("occasional", 1), ("dormant", 0))  # (segment, least active days)


def _names(conn: Connection) -> pd.Series:
    """company_id -> its latest name in user_activities."""
    return pd.read_sql(latest_names_select(user_activities), conn).set_index("company_id")["company_name"]


def days_loaded(ledger: pd.DataFrame, companies: pd.Index, first: date, last: date) -> pd.Series:
    """For each company and day of `first..last`: loaded in `user_activities` and not purged (bool, indexed by
    company_id and date)."""
    days = pd.date_range(first, last, freq="D")
    index = pd.MultiIndex.from_product([companies, days], names=["company_id", "date"])
    if not len(index):
        return pd.Series(False, index=index)
    return covered(ledger[~ledger["purged"]], index)


def engagement(
    conn: Connection, ledger: pd.DataFrame, as_of: date, companies: Companies = EVERY_COMPANY
) -> pd.DataFrame:
    """One row per company (of `companies`) and user seen active up to `as_of` (`user_engagement`'s columns)."""
    t = user_activities
    window = t.c.date >= as_of - timedelta(days=ACTIVE_WINDOW_DAYS - 1)

    def recent(value):
        return func.sum(case((window, value), else_=0))

    query = (
        select(
            t.c.company_id,
            t.c.user_id,
            func.min(t.c.date).label("first_active_date"),
            func.max(t.c.date).label("last_active_date"),
            func.count().label("active_days"),
            recent(literal(1)).label("active_days_30d"),
            recent(func.coalesce(t.c.sessions_count, 0)).label("sessions_30d"),
            recent(func.coalesce(t.c.queries_count, 0)).label("queries_30d"),
        )
        .where(t.c.date <= as_of)
        .group_by(t.c.company_id, t.c.user_id)
    )
    if (within := clause(t.c.company_id, companies)) is not None:
        query = query.where(within)
    users = pd.read_sql(query, conn)
    names = _names(conn)
    for column in ("first_active_date", "last_active_date"):
        users[column] = pd.to_datetime(users[column]).dt.date
    window_start = as_of - timedelta(days=ACTIVE_WINDOW_DAYS - 1)
    loaded = days_loaded(ledger, pd.Index(users["company_id"].unique()), window_start, as_of)
    per_company = loaded.groupby(level="company_id").sum()
    users["days_loaded_30d"] = users["company_id"].map(per_company).fillna(0).astype("int64")
    users["segment"] = segments(users, window_start)
    users["company_name"] = users["company_id"].map(names)
    users["as_of_date"] = as_of
    columns = [c.name for c in user_engagement.columns]
    return users[columns].sort_values(["company_id", "user_id"], ignore_index=True)


def segments(users: pd.DataFrame, window_start: date) -> pd.Series:
    """Each user's segment (first_active_date, active_days_30d, days_loaded_30d); None when not all loaded."""
    segment = pd.Series(None, index=users.index, dtype=object)
    for name, least in reversed(SEGMENTS):
        segment = segment.mask(users["active_days_30d"] >= least, name)
    segment = segment.mask(users["first_active_date"] >= window_start, "new")
    return segment.where(users["days_loaded_30d"] >= ACTIVE_WINDOW_DAYS, None)


def _month(conn: Connection, column):
    """The first day of the month of `column`, in SQL, on SQLite and PostgreSQL."""
    if conn.dialect.name == "sqlite":
        return func.date(column, "start of month")
    return cast(func.date_trunc("month", column), Date)


def _month_numbers(days: pd.Series) -> pd.Series:
    """Each day's month as one integer (year * 12 + month - 1): months subtract as numbers."""
    days = pd.to_datetime(days)
    return days.dt.year * 12 + days.dt.month - 1


def _first_days(months: pd.Series) -> pd.Series:
    """The first day of each month number (`_month_numbers`), as dates."""
    return pd.to_datetime(pd.DataFrame({"year": months // 12, "month": months % 12 + 1, "day": 1})).dt.date


def cohorts(conn: Connection, ledger: pd.DataFrame, as_of: date) -> tuple[pd.DataFrame, date | None]:
    """`retention_cohorts` rows computed from the per-user rows kept, and the last month whose stored cohorts
    stay as they are (the last month with a purged day; None without any).

    The database counts the users of each company, cohort and month (a window function gives each user's first
    month): pandas holds companies x months x months, never the users."""
    t = user_activities
    columns = [c.name for c in retention_cohorts.columns]
    purged = ledger.loc[ledger["purged"], "date"]
    frozen = max(purged).replace(day=1) if len(purged) else None
    month = _month(conn, t.c.date).label("month")
    query = select(t.c.company_id, t.c.user_id, month).where(t.c.date <= as_of)
    if frozen is not None:  # a month with a purged day no longer holds everyone who was active in it
        query = query.where(t.c.date >= (frozen + timedelta(days=31)).replace(day=1))
    active = query.group_by(t.c.company_id, t.c.user_id, month).subquery()
    first = func.min(active.c.month).over(partition_by=[active.c.company_id, active.c.user_id])
    months = select(active.c.company_id, first.label("cohort_month"), active.c.month).subquery()
    counted = select(months.c.company_id, months.c.cohort_month, months.c.month, func.count().label("retained_users"))
    counted = counted.group_by(months.c.company_id, months.c.cohort_month, months.c.month)
    retained = pd.read_sql(counted, conn)
    if not len(retained):
        return pd.DataFrame(columns=columns), frozen
    retained["cohort_month"] = _month_numbers(retained["cohort_month"])
    retained["month_offset"] = _month_numbers(retained["month"]) - retained["cohort_month"]
    retained = retained.set_index(["company_id", "cohort_month", "month_offset"])["retained_users"]
    size = retained.xs(0, level="month_offset").rename("cohort_users").reset_index()
    # every month from the cohort's to as_of's, active or not
    last = _month_numbers(pd.Series([as_of]))[0]
    out = size.loc[size.index.repeat(last - size["cohort_month"] + 1)].reset_index(drop=True)
    out["month_offset"] = out.groupby(["company_id", "cohort_month"]).cumcount()
    out = out.join(retained, on=["company_id", "cohort_month", "month_offset"])
    out["retained_users"] = out["retained_users"].fillna(0).astype("int64")
    out["retention_rate"] = RETENTION_RATE.of(out)
    loaded = _loaded_days_per_month(ledger, out["company_id"].unique(), frozen, as_of)
    target = pd.MultiIndex.from_arrays([out["company_id"], out["cohort_month"] + out["month_offset"]])
    out["days_loaded"] = loaded.reindex(target, fill_value=0).to_numpy()
    first_loaded = loaded.reset_index().groupby("company_id")["month"].min()
    out["left_censored"] = out["cohort_month"] == out["company_id"].map(first_loaded)
    out["company_name"] = out["company_id"].map(_names(conn))
    out["cohort_month"] = _first_days(out["cohort_month"])
    return out[columns].sort_values(["company_id", "cohort_month", "month_offset"], ignore_index=True), frozen


def _loaded_days_per_month(ledger: pd.DataFrame, companies, frozen: date | None, as_of: date) -> pd.Series:
    """(company_id, month number) -> days of that month loaded and not purged, after the frozen months; months
    without any are absent."""
    kept = ledger.loc[~ledger["purged"], "date"]
    if not len(kept):
        return pd.Series(dtype="int64", index=pd.MultiIndex.from_arrays([[], []], names=["company_id", "month"]))
    first = min(kept)
    if frozen is not None:  # the first day of the month after
        first = max(first, (frozen + timedelta(days=31)).replace(day=1))
    loaded = days_loaded(ledger, pd.Index(companies), first, as_of)
    loaded = loaded[loaded].reset_index()
    loaded["month"] = _month_numbers(loaded["date"])
    return loaded.groupby(["company_id", "month"]).size()


def cohort_preview(cohorts: pd.DataFrame, months: int = 6, offsets: int = 6) -> str:
    """Retention of the latest cohorts, every company together, as a Markdown table (month offsets across)."""
    if not len(cohorts):
        return "_no cohorts_"
    recent = cohorts[cohorts["cohort_month"] >= sorted(cohorts["cohort_month"].unique())[-months:][0]]
    recent = recent[recent["month_offset"] < offsets]
    sums = recent.groupby(["cohort_month", "month_offset"])[["retained_users", "cohort_users"]].sum()
    rates = RETENTION_RATE.of(sums).unstack("month_offset")
    table = rates.map(lambda rate: "–" if pd.isna(rate) else f"{rate:.0%}")
    table.columns = [f"month +{offset}" for offset in table.columns]
    return table.reset_index().astype(str).to_markdown(index=False)
