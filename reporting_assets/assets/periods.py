"""`active_users_by_period`: the people active per company in each day, ISO week, month, quarter and year, counted
once by the database from the per-user rows (`user_activities`) and stored. Distinct people cannot be added up
from days: a BI tool reads them here, never from summed daily counts.

A run recomputes the periods its days touch (a day's week, month, quarter and year too), a slice of periods at a
time within the memory budget. A period with purged per-user rows (`REPORTING_USER_RETENTION_DAYS`) cannot be
counted again: it keeps the larger of what was stored and what is left, never a lower figure."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSelection,
    AutomationCondition,
    BackfillPolicy,
    MaterializeResult,
    PartitionsDefinition,
    asset,
)
from sqlalchemy import Date, Engine, String, and_, column, func, or_, select, values

from reporting_assets.assets.metadata import peak_rss_mb, table_metadata
from reporting_assets.assets.partitions import partition_dates
from reporting_assets.lazy import pandas as pd
from reporting_assets.paradigm.resource import row_budget
from reporting_assets.warehouse.spool import Spool
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import GRAINS, active_users_by_period, company_members, user_activities

KEYS = ["company_id", "grain", "period_start"]
MAX_PERIODS = 1_000  # periods in one query: 3 bound values each, well under SQLite's 32,766
TABLE = active_users_by_period


@dataclass(frozen=True, order=True)
class Period:
    grain: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period_of(day: date, grain: str) -> Period:
    """The period of `grain` holding `day` (weeks: ISO, Monday to Sunday)."""
    if grain == "day":
        return Period(grain, day, day)
    if grain == "week":
        start = day - timedelta(days=day.weekday())
        return Period(grain, start, start + timedelta(days=6))
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    first = (day.month - 1) // months * months + 1
    start = date(day.year, first, 1)
    after = date(start.year + (first + months > 12), (first + months - 1) % 12 + 1, 1)
    return Period(grain, start, after - timedelta(days=1))


def touched(start: date, end: date) -> list[Period]:
    """Every period of every grain holding a day of `start..end`."""
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return sorted({period_of(day, grain) for day in days for grain in GRAINS})


def _periods(chunk: list[Period]):
    rows = [(p.grain, p.start, p.end) for p in chunk]
    shape = (column("grain", String), column("start", Date), column("end", Date))
    return values(*shape, name="periods").data(rows).cte("periods")  # a CTE: SQLite names no derived columns


def _count(engine: Engine, chunk: list[Period]) -> "pd.DataFrame":
    """Distinct active users and the last members snapshot per company and period of `chunk`: two queries, the
    database counting (no user id reaches Python)."""
    a, m = user_activities, company_members
    p = _periods(chunk)
    active = (
        select(a.c.company_id, p.c.grain, p.c.start.label("period_start"), func.count(a.c.user_id.distinct()))
        .select_from(a.join(p, a.c.date.between(p.c.start, p.c.end)))
        .group_by(a.c.company_id, p.c.grain, p.c.start)
    )
    n = func.row_number().over(partition_by=(m.c.company_id, p.c.grain, p.c.start), order_by=m.c.date.desc())
    ranked = (
        select(m.c.company_id, p.c.grain, p.c.start.label("period_start"), m.c.current_active_members, n.label("n"))
        .select_from(m.join(p, m.c.date.between(p.c.start, p.c.end)))
        .subquery()
    )
    last = select(ranked.c.company_id, ranked.c.grain, ranked.c.period_start, ranked.c.current_active_members)
    with engine.connect() as conn:
        users = pd.DataFrame(conn.execute(active).all(), columns=[*KEYS, "active_users"])
        members = pd.DataFrame(conn.execute(last.where(ranked.c.n == 1)).all(), columns=[*KEYS, "members"])
    for frame in (users, members):
        frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    out = users.merge(members, on=KEYS, how="outer")
    out["active_users"] = out["active_users"].fillna(0).astype("int64")  # members, nobody active: 0 people
    out["members"] = out["members"].astype("Int64")
    return out


def _completed(frame: "pd.DataFrame", chunk: list[Period], loaded: set[date]) -> "pd.DataFrame":
    """Each row with its period's end and days (in it, loaded and not purged: counted); periods without such a day
    dropped."""
    shape = pd.DataFrame(
        [
            (p.grain, p.start, p.end, sum(p.start + timedelta(days=n) in loaded for n in range(p.days)), p.days)
            for p in chunk
        ],
        columns=["grain", "period_start", "period_end", "days_loaded", "days_in_period"],
    )
    out = frame.merge(shape[shape["days_loaded"] > 0], on=["grain", "period_start"])
    return out[[c.name for c in TABLE.columns]]


def _where(periods: list[Period]):
    by_grain: dict[str, list[date]] = {}
    for p in periods:
        by_grain.setdefault(p.grain, []).append(p.start)
    return or_(*(and_(TABLE.c.grain == g, TABLE.c.period_start.in_(starts)) for g, starts in by_grain.items()))


def _in(frame: "pd.DataFrame", periods: list[Period]) -> "pd.Series":
    keys = pd.MultiIndex.from_frame(frame[["grain", "period_start"]])
    return pd.Series(keys.isin([(p.grain, p.start) for p in periods]), index=frame.index)


def _kept_larger(warehouse: Warehouse, frame: "pd.DataFrame", purged: list[Period]) -> "pd.DataFrame":
    """Periods with purged days: for each company, the larger of what was stored and what was counted now (a
    members snapshot found now wins, else the stored one stays)."""
    if not purged:
        return frame
    stored = warehouse.read(TABLE, where=_where(purged))
    for name in ("period_start", "period_end"):
        stored[name] = pd.to_datetime(stored[name]).dt.date
    now = _in(frame, purged)
    both = pd.concat([stored.astype({"members": "Int64"}), frame[now]], ignore_index=True)
    merged = both.groupby(KEYS, as_index=False).agg(
        period_end=("period_end", "first"),
        active_users=("active_users", "max"),
        members=("members", "last"),
        days_loaded=("days_loaded", "max"),
        days_in_period=("days_in_period", "first"),
    )
    return pd.concat([frame[~now], merged], ignore_index=True)[[c.name for c in TABLE.columns]]


@dataclass(frozen=True)
class Refreshed:
    periods: int
    rows: int
    purged: int  # periods with purged days: kept at least as stored


def refresh(warehouse: Warehouse, start: date, end: date, budget: int) -> Refreshed:
    """Recompute the periods holding a day of `start..end`, a slice of periods at a time (companies x periods
    within `budget` rows), all written in one transaction."""
    periods = touched(start, end)
    ledger = warehouse.loaded([user_activities.name], min(p.start for p in periods), max(p.end for p in periods))
    loaded = set(ledger.loc[~ledger["purged"], "date"])  # a purged day's users can no longer be counted
    purged_days = set(ledger.loc[ledger["purged"], "date"])
    purged = {p for p in periods if any(p.start + timedelta(days=n) in purged_days for n in range(p.days))}
    with warehouse.engine.connect() as conn:
        companies = conn.execute(select(func.count(user_activities.c.company_id.distinct()))).scalar_one()
    step = min(MAX_PERIODS, max(1, budget // max(companies, 1)))
    with Spool() as spool:
        for chunk in _slices(periods, step):
            frame = _completed(_count(warehouse.engine, chunk), chunk, loaded)
            spool.add(_kept_larger(warehouse, frame, [p for p in chunk if p in purged]))
        rows = warehouse.replace_where(TABLE, spool, _where(periods))
    return Refreshed(len(periods), rows, len(purged))


def _slices(periods: list[Period], size: int) -> Iterator[list[Period]]:
    for i in range(0, len(periods), size):
        yield periods[i : i + size]


def build_period_asset(partitions: PartitionsDefinition, memory_budget_mb: int) -> AssetsDefinition:
    """`active_users_by_period`, following `user_activities` (and members snapshots, when there)."""

    @asset(
        name=TABLE.name,
        group_name="paradigm_kpis",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        automation_condition=AutomationCondition.eager().ignore(AssetSelection.assets(company_members.name)),
        deps=[user_activities.name, company_members.name],
        kinds={"sql"},
        description=f"{TABLE.comment}.\n\nTable `{TABLE.name}`; the BI contract's `fct_active_users`.",
        metadata=table_metadata(TABLE),
    )
    def _asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        start, end = partition_dates(context)
        done = refresh(warehouse, start, end, row_budget(memory_budget_mb))
        context.log.info(
            f"{TABLE.name}: {done.periods} periods recomputed ({done.rows} rows), {done.purged} with purged days "
            "kept at least as stored"
        )
        return MaterializeResult(
            metadata={
                "periods": done.periods,
                "run_rows": done.rows,
                "periods with purged days": done.purged,
                "process_peak_rss_mb": peak_rss_mb(),
            }
        )

    return _asset
