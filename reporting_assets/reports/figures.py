"""The figures people read (dashboard and digest), from the KPI tables and the load ledger.

Every company and "All companies" get one row per day of the range; a day whose KPIs were not loaded has NaN
figures (a gap), never zeros. Totals are sums over companies, and a total rate is recomputed from the summed
numerators and denominators (never an average of rates); a total is NaN when a company's day is not loaded.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, select

from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.tables import adoption_satisfaction, company_members, resource_usage, user_activity

ALL = "All companies"
COUNTS = ["sessions_count", "user_queries_count", "model_responses_count", "likes_count", "dislikes_count"]
USERS = ["active_users", "active_users_7d", "active_users_30d"]
KPIS = ["adoption_satisfaction", "user_activity"]


def _read(engine: Engine, table, columns: list[str], start: date, end: date) -> pd.DataFrame:
    query = select(*(table.c[c] for c in columns)).where(table.c.date.between(start, end))
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def loaded_range(engine: Engine) -> tuple[date, date] | None:
    """First and last day the KPIs were loaded, or None before any load."""
    days = ledger.read(engine, KPIS)["date"]
    return (min(days), max(days)) if len(days) else None


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator > 0)


def daily(engine: Engine, start: date, end: date) -> pd.DataFrame:
    """One row per company (and `ALL`) and day of `start..end`: counts, rates, active users, adoption, the
    7-day trends, and `loaded` (both KPI tables loaded that day for that company). Sorted by company, date."""
    lookback = start - timedelta(days=6)  # the 7-day trends of the first days
    counts = _read(engine, adoption_satisfaction, ["date", "company_id", "company_name", *COUNTS], lookback, end)
    users = _read(engine, user_activity, ["date", "company_id", "company_name", *USERS], lookback, end)
    members = _read(engine, company_members, ["date", "company_id", "current_active_members"], lookback, end)
    names = pd.concat([counts, users]).sort_values("date").groupby("company_id")["company_name"].last()
    days = pd.date_range(lookback, end, freq="D")
    index = pd.MultiIndex.from_product([names.index, days], names=["company_id", "date"])
    marks = ledger.read(engine, KPIS, lookback, end)
    covered = {kpi: ledger.covered(marks[marks["asset"] == kpi], index) for kpi in KPIS}
    grid = counts.set_index(["company_id", "date"])[COUNTS].reindex(index, fill_value=0).astype("float64")
    grid = grid.where(covered["adoption_satisfaction"], axis=0)
    # A loaded day without a user_activity row: nobody active within 30 days (0 today, rolling figures unknown)
    people = users.set_index(["company_id", "date"])[USERS].reindex(index).astype("float64")
    people["active_users"] = people["active_users"].fillna(0)
    grid[USERS] = people.where(covered["user_activity"], axis=0)
    grid["members"] = members.set_index(["company_id", "date"])["current_active_members"].reindex(index)
    grid["loaded"] = covered["adoption_satisfaction"] & covered["user_activity"]
    grid = grid.reset_index()
    grid["company"] = grid["company_id"].map(names)

    total = grid.groupby("date")[[*COUNTS, *USERS, "members"]].sum(min_count=len(names)).reset_index()
    total["loaded"] = grid.groupby("date")["loaded"].all().to_numpy() if len(names) else False
    total["company_id"], total["company"] = 0, ALL
    out = pd.concat([grid, total], ignore_index=True).sort_values(["company_id", "date"], ignore_index=True)

    out["satisfaction_rate"] = _ratio(out["likes_count"], out["likes_count"] + out["dislikes_count"])
    out["feedback_rate"] = _ratio(out["likes_count"] + out["dislikes_count"], out["model_responses_count"])
    out["stickiness"] = _ratio(out["active_users"], out["active_users_30d"])
    out["adoption_rate"] = _ratio(out["active_users_30d"], out["members"])
    week = out.groupby("company_id")[["user_queries_count", "likes_count", "dislikes_count"]].rolling(7, min_periods=7)
    week = week.sum().reset_index(level=0, drop=True)  # NaN when a day of the 7 is not loaded
    out["user_queries_7d_avg"] = week["user_queries_count"] / 7
    out["satisfaction_rate_7d"] = _ratio(week["likes_count"], week["likes_count"] + week["dislikes_count"])
    return out[out["date"] >= pd.Timestamp(start)].reset_index(drop=True)


def weekly(days: pd.DataFrame) -> pd.DataFrame:
    """Per company and ISO week (Monday..Sunday) of `daily` rows: summed counts, satisfaction rate, the week's
    distinct active users and adoption (Sunday's 7-day figures), and the days not loaded."""
    rows = days.assign(week=days["date"].dt.strftime("%G-W%V"))
    sums = rows.groupby(["company_id", "company", "week"])[COUNTS].sum(min_count=1)
    out = sums.assign(
        satisfaction_rate=_ratio(sums["likes_count"], sums["likes_count"] + sums["dislikes_count"]),
        days_loaded=rows.groupby(["company_id", "company", "week"])["loaded"].sum(),
        missing=rows[~rows["loaded"]]
        .groupby(["company_id", "company", "week"])["date"]
        .agg(lambda d: ", ".join(d.dt.strftime("%Y-%m-%d"))),
    ).reset_index()
    sunday = rows[rows["date"].dt.day_of_week == 6].set_index(["company_id", "week"])
    keys = pd.MultiIndex.from_frame(out[["company_id", "week"]])
    out["active_users"] = sunday["active_users_7d"].reindex(keys).to_numpy()
    out["adoption_rate"] = sunday["adoption_rate"].reindex(keys).to_numpy()
    out["missing"] = out["missing"].fillna("")
    return out.sort_values(["company_id", "week"], ignore_index=True)


def top_resources(engine: Engine, end: date, days: int = 30, limit: int = 10) -> pd.DataFrame:
    """Most used tools and documents per company (and `ALL`) over the `days` days ending on `end`, with their
    uses in the `days` before and the change: NaN when it was not used then, or when those days are not all
    loaded (`uses_before` NaN too: unknown, not 0)."""
    start, before = end - timedelta(days=days - 1), end - timedelta(days=2 * days - 1)
    columns = ["date", "company_id", "company_name", "resource_type", "resource_id", "resource_name", "usage_count"]
    used = _read(engine, resource_usage, columns, before, end)
    used["period"] = (used["date"] >= pd.Timestamp(start)).map({True: "uses", False: "uses_before"})
    used["company"] = used["company_id"].map(used.sort_values("date").groupby("company_id")["company_name"].last())
    both = pd.concat([used, used.assign(company_id=0, company=ALL)], ignore_index=True)
    keys = ["company_id", "company", "resource_type", "resource_id"]
    table = both.pivot_table(index=keys, columns="period", values="usage_count", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=["uses", "uses_before"], fill_value=0).reset_index()
    names = both.sort_values("date").groupby(["resource_type", "resource_id"])["resource_name"].last()
    table["resource_name"] = [
        names.get((t, i)) for t, i in zip(table["resource_type"], table["resource_id"], strict=True)
    ]
    earlier = pd.date_range(before, start - timedelta(days=1), freq="D")
    companies = used["company_id"].unique()
    index = pd.MultiIndex.from_product([companies, earlier], names=["company_id", "date"])
    marks = ledger.read(engine, ["resource_usage"], before, start - timedelta(days=1))
    whole = ledger.covered(marks, index).groupby(level="company_id").all()
    whole.loc[0] = bool(whole.all()) if len(whole) else False
    table["uses_before"] = table["uses_before"].astype("float64").where(table["company_id"].map(whole).fillna(False))
    table["change"] = _ratio(table["uses"] - table["uses_before"], table["uses_before"])
    table = table[table["uses"] > 0].sort_values(["company_id", "resource_type", "uses"], ascending=[True, True, False])
    return table.groupby(["company_id", "resource_type"]).head(limit).reset_index(drop=True)
