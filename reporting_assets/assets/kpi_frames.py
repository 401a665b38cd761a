"""The KPI tables computed from raw rows: pure pandas, vectorised, no Dagster and no SQL (easy to test).

Each function takes the raw rows of the trailing window it needs (`start - lookback .. end`), keyword
arguments named after their raw tables, and the load ledger of those tables over the same window (`loaded`:
asset, date, company_scope). It returns the KPI rows for `start..end`:
- a company-day gets a row only when that day is loaded in every input, and the company was active within the
  KPI's trailing window (7 days, 30 for user activity); a loaded day without activity has zero counts;
- a rolling figure is NULL unless every day of its window is loaded (days before the first partition never
  are): a partial sum is never presented as whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ACTIVE_WINDOW_DAYS, RATIOS, latest_names, ratio
from reporting_assets.warehouse.ledger import covered, whole_window

KEY = ["date", "company_id"]


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).astype("datetime64[ns]")


def _prep(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The KEY plus `columns` with dates as datetime64 and missing counts as 0."""
    out = frame[[*KEY, *columns]].copy()
    out["date"] = _day(out["date"])
    return out


def dense(daily: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """`daily` (one row per date x company, numeric columns) on every day of `start..end` for every company,
    zeros where it had no row, indexed by (company_id, date) in order."""
    days = pd.date_range(start, end, freq="D")
    companies = daily["company_id"].unique()
    index = pd.MultiIndex.from_product([companies, days], names=["company_id", "date"])
    return daily.set_index(["company_id", "date"]).reindex(index, fill_value=0)


def rolling_sum(grid: pd.DataFrame, days: int) -> pd.DataFrame:
    """Sums over the `days` days ending on each date, per company (grid from `dense`)."""
    cumulative = grid.groupby(level="company_id").cumsum()
    return cumulative - cumulative.groupby(level="company_id").shift(days, fill_value=0)


def distinct_users(activity: pd.DataFrame, days: int, grid_index: pd.MultiIndex) -> pd.Series:
    """Distinct users active over the `days` days ending on each (company_id, date) of `grid_index`.

    An activity on day a covers days [a, a + days); cut at the user's next activity those pieces are
    disjoint, so +1 at each start and -1 at each end, summed cumulatively, counts covered users per day.
    """
    acts = activity[["company_id", "user_id", "date"]].drop_duplicates().sort_values(["company_id", "user_id", "date"])
    expiry = acts["date"] + pd.Timedelta(days=days)
    following = acts.groupby(["company_id", "user_id"])["date"].shift(-1)
    end = expiry.where(following.isna() | (following > expiry), following)
    events = pd.concat(
        [
            pd.DataFrame({"company_id": acts["company_id"], "date": acts["date"], "delta": 1}),
            pd.DataFrame({"company_id": acts["company_id"], "date": end, "delta": -1}),
        ]
    )
    per_day = events.groupby(["company_id", "date"])["delta"].sum()
    if per_day.empty or grid_index.empty:
        return pd.Series(0, index=grid_index, dtype="int64")
    dates = grid_index.get_level_values("date")
    span = pd.date_range(min(dates.min(), acts["date"].min()), dates.max(), freq="D")
    full = pd.MultiIndex.from_product(
        [grid_index.get_level_values("company_id").unique(), span], names=grid_index.names
    )
    counts = per_day.reindex(full, fill_value=0).groupby(level="company_id").cumsum()
    return counts.reindex(grid_index, fill_value=0).astype("int64")


def loaded_in(loaded: pd.DataFrame, assets: Sequence[str], index: pd.MultiIndex) -> pd.Series:
    """Whether each (company_id, date) of `index` is loaded in every one of `assets`."""
    ok = pd.Series(True, index=index)
    for asset in assets:
        ok &= covered(loaded[loaded["asset"] == asset], index)
    return ok


def _finish(frame: pd.DataFrame, columns: Sequence[str], names: pd.Series, start: date, end: date) -> pd.DataFrame:
    """Rows of `start..end` only, with company names, python dates, the table's column order, sorted."""
    frame = frame.reset_index()
    frame = frame[frame["date"].between(pd.Timestamp(start), pd.Timestamp(end))].copy()
    frame["company_name"] = frame["company_id"].map(names)
    frame["date"] = frame["date"].dt.date
    return frame[list(columns)].sort_values(list(columns[:2])).reset_index(drop=True)


ADOPTION_LOOKBACK_DAYS = 6  # sessions_7d, satisfaction_rate_7d
USER_LOOKBACK_DAYS = ACTIVE_WINDOW_DAYS - 1  # active_users_30d: the day and the 29 before


def adoption_satisfaction(
    *,
    chat_sessions: pd.DataFrame,
    chat_feedbacks: pd.DataFrame,
    loaded: pd.DataFrame,
    start: date,
    end: date,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Sessions and feedback joined per company and day, with rates and 7-day figures.

    Inputs cover `start - ADOPTION_LOOKBACK_DAYS .. end`. A company in one input only still gets its row.
    """
    s = _prep(chat_sessions, ["sessions_count", "user_queries_count", "model_responses_count"])
    f = _prep(chat_feedbacks, ["model_responses_count", "likes_count", "dislikes_count", "copies_count"])
    daily = s.merge(f, on=KEY, how="outer", suffixes=("", "_feedback"))
    if daily.empty:
        return pd.DataFrame(columns=list(columns))
    daily["model_responses_count"] = daily["model_responses_count"].fillna(daily.pop("model_responses_count_feedback"))
    grid = dense(daily.fillna(0).assign(active=1), start - timedelta(days=ADOPTION_LOOKBACK_DAYS), end)
    day_loaded = loaded_in(loaded, ["chat_sessions", "chat_feedbacks"], grid.index)
    week = rolling_sum(grid[["sessions_count", "likes_count", "dislikes_count", "active"]], 7).add_suffix("_7d")
    out = grid.join(week).rename(columns={"sessions_count_7d": "sessions_7d"})
    week_loaded = whole_window(day_loaded, 7)
    out = out[(out["active_7d"] > 0) & day_loaded]
    week_loaded = week_loaded[out.index]
    for name in ("feedback_rate", "satisfaction_rate", "queries_per_session"):
        out[name] = RATIOS[name].of(out)
    out["sessions_7d"] = out["sessions_7d"].where(week_loaded).astype("Int64")
    week_parts = out[["likes_count_7d", "dislikes_count_7d"]].rename(columns=lambda c: c.removesuffix("_7d"))
    out["satisfaction_rate_7d"] = RATIOS["satisfaction_rate"].of(week_parts).where(week_loaded)
    return _finish(out, columns, latest_names(chat_sessions, chat_feedbacks), start, end)


def resource_usage(
    *,
    used_documents: pd.DataFrame,
    tools_usage: pd.DataFrame,
    loaded: pd.DataFrame,
    start: date,
    end: date,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Tools and documents as one table of resources per company and day, with share and rank by type."""
    documents, tools = used_documents, tools_usage
    docs = _prep(documents, ["document_id", "document_title", "document_filename", "usage_count"])
    used = pd.concat(
        [
            pd.DataFrame(
                {
                    "date": docs["date"],
                    "company_id": docs["company_id"],
                    "resource_type": "document",
                    "resource_id": docs["document_id"].astype("int64").astype(str),
                    "resource_name": docs["document_title"].fillna(docs["document_filename"]),
                    "usage_count": docs["usage_count"],
                }
            ),
            _prep(tools, ["tool_name", "usage_count"])
            .assign(resource_type="tool", resource_id=lambda t: t["tool_name"], resource_name=lambda t: t["tool_name"])
            .drop(columns="tool_name"),
        ],
        ignore_index=True,
    )
    used["usage_count"] = used["usage_count"].fillna(0).astype("int64")
    by_type = used.groupby(["date", "company_id", "resource_type"])["usage_count"]
    used["share"] = ratio(used["usage_count"], by_type.transform("sum"))
    used["rank"] = by_type.rank(method="min", ascending=False).astype("int64")
    day_loaded = loaded_in(
        loaded, ["used_documents", "tools_usage"], pd.MultiIndex.from_frame(used[["company_id", "date"]])
    )
    used = used[day_loaded.to_numpy()]
    out = _finish(used, columns, latest_names(documents, tools), start, end)
    return out.sort_values(["date", "company_id", "resource_type", "rank", "resource_id"], ignore_index=True)


def user_activity(
    *,
    user_activities: pd.DataFrame,
    chat_sessions: pd.DataFrame,
    company_members: pd.DataFrame,
    loaded: pd.DataFrame,
    start: date,
    end: date,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Active users per company and day over 1, 7 and 30 days, stickiness, per-user intensity and adoption.

    `user_activities` covers `start - USER_LOOKBACK_DAYS .. end`; `chat_sessions` and `company_members` cover
    `start..end`. Members are optional: a day without a members snapshot keeps its row, adoption_rate NULL.
    """
    users, sessions = user_activities, chat_sessions
    acts = _prep(users, ["user_id"])
    s = _prep(sessions, ["sessions_count", "user_queries_count"])
    daily = pd.concat([acts[KEY], s[KEY]]).drop_duplicates().assign(active=1)
    if daily.empty:
        return pd.DataFrame(columns=list(columns))
    daily = daily.merge(s, on=KEY, how="left").fillna(0)
    grid = dense(daily, start - timedelta(days=USER_LOOKBACK_DAYS), end)
    users_loaded = loaded_in(loaded, ["user_activities"], grid.index)
    windows = {days: whole_window(users_loaded, days) for days in (7, ACTIVE_WINDOW_DAYS)}
    keep = rolling_sum(grid[["active"]], USER_LOOKBACK_DAYS + 1)["active"] > 0
    grid = grid[keep & users_loaded & loaded_in(loaded, ["chat_sessions"], grid.index)]
    for days, name in ((1, "active_users"), (7, "active_users_7d"), (ACTIVE_WINDOW_DAYS, "active_users_30d")):
        counts = distinct_users(acts, days, grid.index)
        grid[name] = counts if days == 1 else counts.where(windows[days][grid.index]).astype("Int64")
    members = _prep(company_members, ["current_active_members"]).set_index(["company_id", "date"])
    parts = grid.assign(current_active_members=members["current_active_members"].reindex(grid.index))
    for name in ("stickiness", "sessions_per_active_user", "queries_per_active_user", "adoption_rate"):
        grid[name] = RATIOS[name].of(parts)
    return _finish(grid, columns, latest_names(users, sessions), start, end)
