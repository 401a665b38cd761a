"""What one rule's evaluation reads: only the KPI rows and ledger days that can change its episodes from a day on,
not the whole history (3 years x 50 companies is 55,000 rows per rule and tick).

A change on day D alters the conditions of days >= D only; the episodes stored from D on (or still open) may
have started earlier, and a condition on a day needs the loaded days before it: the baseline of a `*_vs_mean`
rule, `for_days` to know a run is long enough, the window of a rolling count. So the read starts that many
loaded days before the earliest of D and those episodes' starts, and is exactly what a read of everything
would give for the days evaluated from there.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Engine, Table, and_, func, or_, select, true

from reporting_assets.alerts import state
from reporting_assets.alerts.rules import Rule
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID, Ratio, latest_names_select
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.tables import KPI_TABLES, OTHER, custom_kpis, group_activity, load_log, user_activity


def first_day(engine: Engine, rule: Rule, since: date) -> date | None:
    """The first day an evaluation of `rule` from `since` must read; None: from the beginning."""
    margin = (rule.baseline_days or 0) + rule.for_days + rule.window_days + 1
    started = state.earliest_rewritable(engine, rule.name, since)
    before = min(since, started) if started else since
    with engine.connect() as conn:
        days = (
            select(load_log.c.date)
            .where(load_log.c.asset == rule.ledger_asset, load_log.c.date < before)
            .distinct()
            .order_by(load_log.c.date.desc())
            .limit(margin)
        )
        found = conn.execute(days).scalars().all()
    return found[-1] if len(found) == margin else None


def kpi_rows(engine: Engine, rule: Rule, start: date | None) -> pd.DataFrame:
    """The rule's metric per company and day from `start` on (date, company_id, company_name, metric; several
    rows a day added up in SQL), plus each company's last row before `start`: it says since when the company
    is watched and what it is called, as a read of every row would."""
    if rule.total:
        return _total_rows(engine, rule, start)
    if rule.by is not None:
        return _group_rows(engine, rule, start)
    table, metric, kpi = _source(rule)
    columns = [table.c.date, table.c.company_id, func.max(table.c.company_name).label("company_name")]
    query = select(*columns, func.sum(metric).label(rule.metric)).where(kpi).group_by(table.c.date, table.c.company_id)
    if start is not None:
        last = (
            select(table.c.company_id, func.max(table.c.date).label("last"))
            .where(table.c.date < start, kpi)
            .group_by(table.c.company_id)
            .subquery()
        )
        before = and_(table.c.company_id == last.c.company_id, table.c.date == last.c.last)
        query = query.outerjoin(last, before).where(or_(table.c.date >= start, last.c.last.is_not(None)))
    with engine.connect() as conn:
        frame = pd.read_sql(query.order_by(table.c.date, table.c.company_id), conn)
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame[rule.metric] = pd.to_numeric(frame[rule.metric]).astype("float64")
    return frame


def _total_rows(engine: Engine, rule: Rule, start: date | None) -> pd.DataFrame:
    """The metric of all companies together per day (`ALL_COMPANIES`), from `start` on plus the last day before
    it: a count summed, a rate recomputed from its summed parts (`Rule.total_ratio`)."""
    table, metric, kpi = _source(rule)
    ratio = rule.total_ratio or Ratio((rule.metric,), ())
    parts = ratio.parts
    summed = [func.sum(metric if c == rule.metric else table.c[c]).label(c) for c in parts]
    query = select(table.c.date, *summed).where(kpi).group_by(table.c.date)
    if start is not None:
        before = select(func.max(table.c.date)).where(table.c.date < start, kpi).scalar_subquery()
        query = query.where(or_(table.c.date >= start, table.c.date == before))
    with engine.connect() as conn:
        frame = pd.read_sql(query.order_by(table.c.date), conn)
    sums = pd.DataFrame({c: pd.to_numeric(frame[c]).astype("float64") for c in parts})
    value = ratio.of(sums) if ratio.denominator else sums[rule.metric]
    out = pd.DataFrame({"date": pd.to_datetime(frame["date"]).dt.date, "company_name": ALL_COMPANIES})
    return out.assign(company_id=ALL_COMPANIES_ID, **{rule.metric: value.astype("float64")})


def _group_rows(engine: Engine, rule: Rule, start: date | None) -> pd.DataFrame:
    """The rule's metric per company, group of its attribute and day (`group_activity`'s daily rows, "(other)"
    aside: a mix of groups, never one to alert on), from `start` on plus each group's last day before it, with
    the company's latest name."""
    g = group_activity
    value = g.c[rule.metric] if rule.metric != "adoption_rate" else None
    if value is None:
        value = g.c.active_users * 1.0 / func.nullif(g.c.headcount, 0)
    mine = and_(g.c.grain == "day", g.c.attribute == rule.by, g.c.group_name != OTHER)
    query = select(g.c.period_start.label("date"), g.c.company_id, g.c.group_name, value.label(rule.metric))
    query = query.where(mine)
    if start is not None:
        last = (
            select(g.c.company_id, g.c.group_name, func.max(g.c.period_start).label("last"))
            .where(mine, g.c.period_start < start)
            .group_by(g.c.company_id, g.c.group_name)
            .subquery()
        )
        before = and_(
            g.c.company_id == last.c.company_id, g.c.group_name == last.c.group_name, g.c.period_start == last.c.last
        )
        query = query.outerjoin(last, before).where(or_(g.c.period_start >= start, last.c.last.is_not(None)))
    with engine.connect() as conn:
        frame = pd.read_sql(query.order_by(g.c.period_start, g.c.company_id, g.c.group_name), conn)
        names = dict(conn.execute(latest_names_select(user_activity)).all())
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["company_name"] = frame["company_id"].map(names)
    frame[rule.metric] = pd.to_numeric(frame[rule.metric]).astype("float64")
    return frame


def _source(rule: Rule) -> tuple[Table, ColumnElement, ColumnElement[bool]]:
    """The rule's table, its metric's column and the rows it reads: a custom KPI is `custom_kpis.value` of the
    rows of its name; a built-in one, its table's column, every row."""
    if rule.custom is not None:
        return custom_kpis, custom_kpis.c.value, custom_kpis.c.kpi == rule.metric
    table = KPI_TABLES[rule.asset]
    return table, table.c[rule.metric], true()


def loaded(engine: Engine, rule: Rule, start: date | None) -> pd.DataFrame:
    """Ledger rows (asset, date, company_scope) of the rule's asset from `start` on."""
    end = None if start is None else date.max
    return ledger.read(engine, [rule.ledger_asset], start, end)
