"""Custom KPIs computed from the BI contract's views, one row per loaded day, company and KPI (`custom_kpis`).

The parts of the KPIs are SQLAlchemy Core queries over the views' own SELECT (`bi.views.select_sql`, so that the
contract need not be published first), one per view and filters: `SUM(column)` of each part per day and company,
the filters bound as parameters. A KPI is computed on a day when every table it reads is loaded that day (the ledger);
then every company of the day gets a row per KPI, 0 for a part without matching activity (no row, or only NULLs),
and a ratio's value is its summed parts divided (NULL when the denominator is 0). A day not loaded has no row.
Each KPI is computed on the days its own tables are loaded; the ledger holds the days every KPI is.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Column, Connection, Date, Engine, Float, Select, String, func, select
from sqlalchemy import text as sql_text

from reporting_assets.custom_kpis.definition import CustomKpi, Filter, KpiFile, Part
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import latest_names_select
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.tables import KPI_TABLES, RAW_TABLES, chat_sessions, custom_kpis

TABLES = {**RAW_TABLES, **KPI_TABLES}  # what a contract view reads

SQL_TYPES = {"date": Date, "integer": BigInteger, "bigint": BigInteger, "float": Float, "boolean": Boolean}
COLUMNS = [c.name for c in custom_kpis.columns]


def parts(kpi: CustomKpi) -> list[Part]:
    return [kpi.numerator] if kpi.denominator is None else [kpi.numerator, kpi.denominator]


def source(part: Part) -> str:
    """The table under the part's view that holds its column: its ledger says which days are loaded."""
    from reporting_assets.bi.contract import VIEWS

    return next(t.name for t in VIEWS[part.view].sources if part.column in t.c)


def inputs(file: KpiFile) -> list[str]:
    """Every table the file's KPIs read (their ledgers decide the days computed)."""
    return sorted({source(part) for kpi in file.kpis for part in parts(kpi)})


def _view(conn: Connection, name: str):
    """The contract view `name` as a subquery of its own SELECT, its columns typed as the contract says."""
    from reporting_assets.bi import views
    from reporting_assets.bi.contract import VIEWS

    view = VIEWS[name]
    sql = views.select_sql(view, conn.dialect.name, views.schema_of(conn))
    columns = [Column(f.name, SQL_TYPES.get(f.type, String)) for f in view.fields]
    return sql_text(sql).columns(*columns).subquery(name)


def summed(
    conn: Connection, view: str, filters: tuple[Filter, ...], columns: list[str], start: date, end: date
) -> Select:
    """SUM of each of `columns` per day and company over `start..end`, on the rows of `view` its filters keep:
    one query for every part that reads the same view through the same filters."""
    v = _view(conn, view)
    sums = [func.sum(v.c[c]).label(c) for c in columns]
    query = select(v.c.date, v.c.company_id, *sums).where(v.c.date.between(start, end))
    for f in filters:
        column = v.c[f.column]
        if f.op == "in":
            query = query.where(column.in_(list(f.value)))  # type: ignore[arg-type]
        elif f.op == "like":
            query = query.where(column.like(f.value))
        else:
            query = query.where(column == f.value)
    return query.group_by(v.c.date, v.c.company_id)


def _companies(conn: Connection, tables: list[str], start: date, end: date) -> pd.Series:
    """The companies with any row over `start..end` in the KPIs' tables or in chat_sessions (every active
    company has sessions), with their latest names: a loaded day gives each of them a row."""
    found: set[int] = set()
    named = [TABLES[name] for name in sorted({*tables, chat_sessions.name})]
    for rows in named:
        query = select(rows.c.company_id).where(rows.c.date.between(start, end)).distinct()
        found |= set(conn.execute(query).scalars())
    names = pd.read_sql(latest_names_select(*named), conn).set_index("company_id")["company_name"]
    return names.reindex(sorted(found)).rename_axis("company_id")


def chunk(engine: Engine, file: KpiFile, start: date, end: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The KPI rows of `start..end` (`custom_kpis`' columns), each KPI on the days its own tables are loaded (a KPI
    on members waits for their snapshots, the others do not), and the ledger entries (date, company_scope, rows)
    of the days every KPI is computed: only there may a reader take a KPI's missing row for none."""
    tables = inputs(file)
    loaded = ledger.read(engine, tables, start, end)

    def days_of(names: list[str]) -> pd.DataFrame:
        return ledger.common({name: loaded[loaded["asset"] == name] for name in names}, start, end)

    days = days_of(tables)
    own = {kpi.name: days_of(sorted({source(part) for part in parts(kpi)})) for kpi in file.kpis}
    if not any(len(d) for d in own.values()):
        return pd.DataFrame(columns=COLUMNS), days.assign(rows=pd.Series(dtype="int64"))
    with engine.connect() as conn:
        companies = _companies(conn, tables, start, end)
        sums = _read(conn, [part for kpi in file.kpis for part in parts(kpi)], start, end)
    every = pd.Index(companies.index, dtype="int64", name="company_id")
    out = []
    for kpi in file.kpis:
        grid = _grid(own[kpi.name], every)
        numerator = sums[kpi.numerator].reindex(grid).fillna(0.0)  # no matching row, or only NULLs: none
        if kpi.denominator is None:
            denominator, value = None, numerator
        else:
            denominator = sums[kpi.denominator].reindex(grid).fillna(0.0)
            value = (numerator / denominator.where(denominator != 0)).astype("float64")
        frame = grid.to_frame(index=False).assign(
            kpi=kpi.name, label=kpi.label_in("en"), numerator=numerator.to_numpy(), value=value.to_numpy()
        )
        frame["company_name"] = frame["company_id"].map(companies)
        frame["denominator"] = None if denominator is None else denominator.to_numpy()
        out.append(frame)
    rows = pd.concat(out, ignore_index=True)[COLUMNS]
    per_day = rows.groupby("date").size()
    scoped = rows.groupby(["date", "company_id"]).size()
    days["rows"] = [
        int(per_day.get(day, 0)) if pd.isna(scope) else int(scoped.get((day, int(scope)), 0))
        for day, scope in zip(days["date"], days["company_scope"], strict=True)
    ]
    return rows, days


def _read(conn: Connection, wanted: list[Part], start: date, end: date) -> dict[Part, pd.Series]:
    """Each part's sums per (date, company_id): one query per view and filters (a level or people: the day's own,
    the view having one row per day and company)."""
    groups: dict[tuple[str, tuple[Filter, ...]], list[str]] = {}
    for part in wanted:
        columns = groups.setdefault((part.view, part.filters), [])
        if part.column not in columns:
            columns.append(part.column)
    read = {}
    for (view, filters), columns in groups.items():
        rows = conn.execute(summed(conn, view, filters, columns, start, end)).all()
        frame = pd.DataFrame(rows, columns=["date", "company_id", *columns])
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        frame = frame.astype({"company_id": "int64"}).set_index(["date", "company_id"])
        read |= {(view, filters, column): frame[column].astype("float64") for column in columns}
    return {part: read[part.view, part.filters, part.column] for part in wanted}


def _grid(days: pd.DataFrame, companies: pd.Index) -> pd.MultiIndex:
    """(date, company_id) of every computed day: all companies where the day is loaded for all, else the
    company of its scope."""
    every = days.loc[days["company_scope"].isna(), "date"]
    scoped = days.loc[days["company_scope"].notna()]
    pairs = [pd.MultiIndex.from_product([every, companies], names=["date", "company_id"])]
    pairs.append(pd.MultiIndex.from_arrays([scoped["date"], scoped["company_scope"].astype("int64")],
                                           names=["date", "company_id"]))  # fmt: skip
    return pairs[0].append(pairs[1]).drop_duplicates().sort_values()
