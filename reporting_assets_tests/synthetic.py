"""A synthetic instance of any size: KPI rows (and company members) written through the warehouse with their
ledger days, as an instance admin's warehouse looks after years of daily refreshes. Used by the report tests
and the bench's "big instance" part; plausible, reproducible (seeded), never read by the project itself."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from reporting_assets.metrics import RATIOS
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import (
    active_users_by_period,
    adoption_satisfaction,
    company_members,
    resource_usage,
    user_activities,
    user_activity,
)

MEMBER_DAYS = 60  # members are snapshotted from the first daily refresh on: the last days only


def _periods(grid: pd.DataFrame, start: date) -> pd.DataFrame:
    """People per whole ISO week and month of `grid`, as its figures imply them: a week's are its Sunday's 7-day
    actives, a month's its last day's 30-day actives."""
    day = pd.to_datetime(grid["date"])
    first = pd.Timestamp(start)
    out = []
    for grain, last, figure, begin in (
        ("week", day.dt.day_of_week == 6, "active_users_7d", day - pd.to_timedelta(6, unit="D")),
        ("month", day.dt.is_month_end, "active_users_30d", day.dt.to_period("M").dt.start_time),
    ):
        rows = grid[last & (begin >= first) & grid[figure].notna()]
        out.append(
            pd.DataFrame(
                {
                    "company_id": rows["company_id"], "grain": grain, "period_start": begin[rows.index].dt.date,
                    "period_end": rows["date"], "active_users": rows[figure].astype("int64"),
                    "members": rows["current_active_members"], "days_loaded": (day - begin)[rows.index].dt.days + 1,
                }
            ).assign(days_in_period=lambda f: f["days_loaded"])
        )  # fmt: skip
    return pd.concat(out, ignore_index=True)


def company_sizes(companies: int, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).integers(20, 2000, companies)


def write_instance(
    warehouse: Warehouse,
    start: date,
    days: int,
    companies: int,
    resources: int = 5,
    members_days: int = MEMBER_DAYS,
    seed: int = 7,
) -> None:
    """`days` x `companies` of every KPI table from `start` (each company growing or shrinking at its own pace,
    with weekend dips), `resources` tools and documents a company and day, members for the last `members_days`
    days, and the ledger days of each."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    ids = np.arange(1, companies + 1)
    members = company_sizes(companies, seed)
    trend = rng.uniform(-0.5, 1.0, companies)  # growth over the whole range
    grid = pd.DataFrame({"date": np.tile(dates, companies), "company_id": np.repeat(ids, days)})
    grid["company_name"] = "Company " + grid["company_id"].astype(str)
    progress = np.tile(np.linspace(0, 1, days), companies)
    weekday = np.tile(np.where(dates.day_of_week >= 5, 0.25, 1.0), companies)
    size = np.repeat(members, days)
    rate = np.clip(0.15 * (1 + np.repeat(trend, days) * progress), 0.01, 0.6) * weekday
    grid["active_users"] = rng.binomial(size, rate)
    grid["active_users_7d"] = np.minimum(size, (grid["active_users"] * 2.2).astype(int) + 1)
    grid["active_users_30d"] = np.minimum(size, (grid["active_users"] * 3.5).astype(int) + 2)
    grid["sessions_count"] = rng.poisson(grid["active_users"] * 1.6)
    grid["user_queries_count"] = rng.poisson(grid["sessions_count"] * 3.1)
    grid["model_responses_count"] = grid["user_queries_count"]
    grid["likes_count"] = rng.binomial(grid["model_responses_count"], 0.05)
    grid["dislikes_count"] = rng.binomial(grid["model_responses_count"], 0.015)
    grid["copies_count"] = rng.binomial(grid["model_responses_count"], 0.1)
    grid["sessions_7d"] = grid["sessions_count"] * 7
    grid["satisfaction_rate_7d"] = RATIOS["satisfaction_rate"].of(grid)
    head = grid["date"] < dates[0] + timedelta(days=29)
    grid.loc[head, "active_users_30d"] = pd.NA  # the first 29 days: no whole 30-day window
    grid["current_active_members"] = size
    for name in ("feedback_rate", "satisfaction_rate", "queries_per_session"):
        grid[name] = RATIOS[name].of(grid)
    for name in ("stickiness", "sessions_per_active_user", "queries_per_active_user", "adoption_rate"):
        grid[name] = RATIOS[name].of(grid.astype({"active_users_30d": "float64"}))
    grid["date"] = grid["date"].dt.date
    end = dates[-1].date()

    def write(table, frame: pd.DataFrame, first: date = start) -> None:
        every = pd.DataFrame({"date": pd.date_range(first, end, freq="D").date, "company_scope": None})
        loaded = ledger.entries(table.name, every.assign(rows=companies), "synthetic")
        warehouse.replace(table, first, end, frame[[c.name for c in table.columns if c.name in frame]], loaded=loaded)

    write(adoption_satisfaction, grid)
    write(user_activity, grid)
    warehouse.replace_where(active_users_by_period, _periods(grid, start))
    if members_days:
        recent = end - timedelta(days=members_days - 1)
        snapshot = grid[grid["date"] >= recent].assign(
            total_historical_members=lambda f: f["current_active_members"] + 3, ingested_at=pd.Timestamp.now(tz="UTC")
        )
        write(company_members, snapshot, first=max(start, recent))

    uses = grid.loc[grid.index.repeat(2 * resources), ["date", "company_id", "company_name"]].reset_index(drop=True)
    kind = np.tile(np.repeat(["tool", "document"], resources), len(grid))
    rank = np.tile(np.tile(np.arange(1, resources + 1), 2), len(grid))
    uses["resource_type"], uses["rank"] = kind, rank
    uses["resource_id"] = np.where(kind == "tool", "tool-" + rank.astype(str), (rank * 1000).astype(str))
    uses["resource_name"] = np.where(kind == "tool", "Tool " + rank.astype(str), "Document " + rank.astype(str))
    uses["usage_count"] = rng.poisson(40 / rank)
    uses["share"] = 1 / resources
    write(resource_usage, uses)


def write_users(warehouse: Warehouse, start: date, days: int, companies: int, users: int = 40, seed: int = 7) -> None:
    """`user_activities` of `users` users a company over `days` days from `start`, each of one kind (daily,
    weekly, rare, gone quiet after the first half, or new over the last 20 days), with the ledger days."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    kinds = rng.integers(0, 5, (companies, users))  # power, regular, occasional, gone quiet, new
    chance = np.array([0.7, 0.2, 0.05, 0.5, 0.6])[kinds]
    active = rng.random((companies, users, days)) < chance[..., None]
    position = np.arange(days)
    active &= ~((kinds == 3)[..., None] & (position >= days // 2))
    active &= ~((kinds == 4)[..., None] & (position < days - 20))
    company, user, day = np.nonzero(active)
    rows = pd.DataFrame(
        {
            "date": dates[day].date,
            "company_id": company + 1,
            "company_name": "Company " + pd.Series(company + 1).astype(str),
            "ingested_at": pd.Timestamp.now(tz="UTC"),
            "user_id": (company + 1) * 100_000 + user + 1,
            "sessions_count": rng.integers(1, 5, len(day)),
            "queries_count": rng.integers(1, 20, len(day)),
            "last_activity_at": pd.NaT,
            "active_users_count": 0,
        }
    )
    end = dates[-1].date()
    loaded = ledger.entries("user_activities", ledger.day_counts(rows, start, end, None), "synthetic")
    warehouse.replace(user_activities, start, end, rows, loaded=loaded)
