"""The load ledger (`load_log`): which days of which asset were loaded, for which company scope.

The API omits a company on a day without activity, so a day we never fetched looks like a quiet day in a raw
table. Only the ledger tells them apart: a raw asset writes its days here in the same transaction as its rows
(0 rows = loaded, no activity), and a KPI asset writes the days it could compute (every input loaded). A
ledger row whose `company_scope` is NULL covers every company; one with a company id covers that company.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import Engine, and_, func, or_, select

from reporting_assets.clock import utc_now
from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse.tables import load_log

COLUMNS = [c.name for c in load_log.columns]


def entries(asset: str, days: pd.DataFrame, run_id: str | None, loaded_at: datetime | None = None) -> pd.DataFrame:
    """Ledger rows of `asset` for `days` (columns date, company_scope, rows), stamped now, not purged."""
    out = days[["date", "company_scope", "rows"]].assign(
        asset=asset, loaded_at=loaded_at or utc_now(), run_id=run_id, purged_at=None
    )
    out["company_scope"] = out["company_scope"].astype("Int64")
    return out[COLUMNS]


def day_counts(frame: pd.DataFrame, start: date, end: date, scope: int | None) -> pd.DataFrame:
    """One entry per day of `start..end` with the rows `frame` holds for it (0 for a day without activity)."""
    days = pd.date_range(start, end, freq="D").date
    counts = frame["date"].value_counts() if len(frame) else pd.Series(dtype="int64")
    rows = counts.reindex(days, fill_value=0).to_numpy()
    return pd.DataFrame({"date": days, "company_scope": scope, "rows": rows})


def busiest_day(engine: Engine, asset: str, scope: int | None, days: int = 31) -> int | None:
    """Rows of the busiest of the last `days` loaded days of `asset` for `scope` (None before any load): what
    the next request windows are sized by."""
    recent = (
        select(load_log.c.rows)
        .where(
            load_log.c.asset == asset,
            load_log.c.company_scope.is_(None) if scope is None else load_log.c.company_scope == scope,
        )
        .order_by(load_log.c.date.desc())
        .limit(days)
        .subquery()
    )
    with engine.connect() as conn:
        found = conn.execute(select(func.max(recent.c.rows))).scalar_one()
    return None if found is None else int(found)


def scope_clause(asset: str, start: date, end: date, scope: int | None):
    """The ledger rows a load of `asset` over `start..end` for `scope` replaces: all scopes when it covers
    every company, else that company's."""
    where = and_(load_log.c.asset == asset, load_log.c.date.between(start, end))
    return where if scope is None else and_(where, load_log.c.company_scope == scope)


def read(engine: Engine, assets: list[str], start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Ledger rows (asset, date, company_scope, purged) of `assets` for `start..end` (every day without a range).
    A purged day (its per-user rows deleted) is still loaded: what was computed from it stands."""
    purged = load_log.c.purged_at.is_not(None).label("purged")
    query = select(load_log.c.asset, load_log.c.date, load_log.c.company_scope, purged).where(
        load_log.c.asset.in_(assets)
    )
    if start is not None and end is not None:
        query = query.where(load_log.c.date.between(start, end))
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["company_scope"] = frame["company_scope"].astype("Int64")
    frame["purged"] = frame["purged"].astype(bool)
    return frame


def covered(ledger: pd.DataFrame, index: pd.MultiIndex) -> pd.Series:
    """For each (company_id, date) of `index`: is that day loaded for that company in `ledger` (one asset's
    rows: date, company_scope)? A NULL scope covers every company."""
    dates = pd.to_datetime(pd.Series(index.get_level_values("date"))).dt.normalize()
    companies = pd.Series(index.get_level_values("company_id"))
    rows = ledger.assign(date=pd.to_datetime(ledger["date"]))
    every = set(rows.loc[rows["company_scope"].isna(), "date"])
    scoped = pd.MultiIndex.from_frame(
        rows.loc[rows["company_scope"].notna(), ["company_scope", "date"]].astype({"company_scope": "int64"})
    )
    own = pd.MultiIndex.from_arrays([companies.astype("int64"), dates]).isin(scoped)
    return pd.Series(dates.isin(every).to_numpy() | own, index=index)


def whole_window(day_loaded: pd.Series, days: int) -> pd.Series:
    """For each (company_id, date) of `day_loaded` (whether that day is loaded; a day absent from the index is
    not): are all `days` days ending on it loaded? The one rule of every rolling figure: a window not wholly
    loaded is unknown, never a partial sum. Dates ascend within each company."""
    n = day_loaded.astype("float64").rename("n").reset_index("company_id")
    count = n.groupby("company_id")["n"].rolling(f"{days}D").sum()
    return pd.Series((count.reindex(day_loaded.index) >= days).to_numpy(), index=day_loaded.index)


def common(ledgers: Mapping[str, pd.DataFrame], start: date, end: date) -> pd.DataFrame:
    """Days of `start..end` loaded in every input (date, company_scope): NULL scope where every input covers
    every company, else one entry per company that every input covers. What a KPI may compute."""
    days = pd.DataFrame({"date": pd.date_range(start, end, freq="D").date})
    every = days
    for frame in ledgers.values():
        every = every[every["date"].isin(set(frame.loc[frame["company_scope"].isna(), "date"]))]
    companies = pd.concat([f.loc[f["company_scope"].notna(), ["date", "company_scope"]] for f in ledgers.values()])
    companies = companies[~companies["date"].isin(set(every["date"]))].drop_duplicates()
    if len(companies):
        index = pd.MultiIndex.from_arrays(
            [companies["company_scope"].astype("int64"), companies["date"]], names=["company_id", "date"]
        )
        keep = pd.Series(True, index=index)
        for frame in ledgers.values():
            keep &= covered(frame, index)
        companies = companies[keep.to_numpy()]
    out = pd.concat([every.assign(company_scope=None), companies], ignore_index=True)
    out["company_scope"] = out["company_scope"].astype("Int64")
    return out.sort_values(["date", "company_scope"], ignore_index=True)


def latest(engine: Engine, assets: list[str], scope: int | None) -> dict[str, date | None]:
    """Latest loaded day of each asset for `scope` (a NULL-scope row covers any company)."""
    where = load_log.c.company_scope.is_(None)
    if scope is not None:
        where = or_(where, load_log.c.company_scope == scope)
    query = (
        select(load_log.c.asset, func.max(load_log.c.date))
        .where(load_log.c.asset.in_(assets), where)
        .group_by(load_log.c.asset)
    )
    with engine.connect() as conn:
        found = dict(conn.execute(query).all())
    return {asset: found.get(asset) for asset in assets}
