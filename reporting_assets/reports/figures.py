"""The figures people read (dashboard and digest), from the KPI tables and the load ledger: computed once here,
as frames and typed models, then only laid out by `dashboard.py` and `digest.py`.

Every company and all companies together (`ALL_COMPANIES_ID`) get one row per day of the range; a day whose
KPIs were not loaded has NaN figures (a gap), never zeros. Totals are sums over companies, and a rate is
recomputed from summed parts (`metrics.RATIOS`), never averaged; a total is NaN when a company's day is not
loaded.
"""

from __future__ import annotations

import operator
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce

from sqlalchemy import Engine, case, func, select

from reporting_assets.i18n import N_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID, RATIOS, change, latest_names, ratio
from reporting_assets.warehouse import company_ranges, ledger
from reporting_assets.warehouse.company_ranges import EVERY_COMPANY, Companies, clause
from reporting_assets.warehouse.ledger import whole_window
from reporting_assets.warehouse.tables import (
    active_users_by_period,
    adoption_satisfaction,
    company_members,
    resource_usage,
    user_activity,
)

COUNTS = ["sessions_count", "user_queries_count", "model_responses_count", "likes_count", "dislikes_count"]
USERS = ["active_users", "active_users_7d", "active_users_30d"]
MEMBERS = "current_active_members"
PARTS = [*COUNTS, *USERS, MEMBERS]  # what every rate of the reports is made of
PEOPLE = "people"  # the charts' distinct people of each point: a day's active users, a week's or a month's
SERIES = [*PARTS, PEOPLE]  # what the charts hold per point
KPI_INPUTS = ["adoption_satisfaction", "user_activity"]
CHUNK = 50_000  # rows read at a time
GRID_ROWS = 150_000  # company-days `daily` holds at a time (a few tens of MB): its memory, whatever the instance
NOT_LOADED = N_("not loaded")
NEEDS_30_DAYS = N_("needs 30 loaded days in a row")
NO_MEMBERS = N_("no members recorded yet: they are recorded from the first daily refresh on")


def _read(
    engine: Engine, table, columns: list[str], start: date, end: date, companies: Companies = EVERY_COMPANY
) -> pd.DataFrame:
    """`columns` of `table` over `start..end` for a range of companies, read `CHUNK` rows at a time: the driver's
    Python objects for years of an instance's rows would cost several times the frame they make."""
    query = select(*(table.c[c] for c in columns)).where(table.c.date.between(start, end))
    within = clause(table.c.company_id, companies)
    query = query if within is None else query.where(within)
    with engine.connect() as conn:
        parts = [
            part.assign(date=pd.to_datetime(part["date"]))
            for part in pd.read_sql(query, conn.execution_options(stream_results=True), chunksize=CHUNK)
        ]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _company_ids(engine: Engine, start: date, end: date) -> list[int]:
    """The companies with KPI rows in `start..end`, by id."""
    found: set[int] = set()
    with engine.connect() as conn:
        for t in (adoption_satisfaction, user_activity):
            found.update(conn.execute(select(t.c.company_id).where(t.c.date.between(start, end)).distinct()).scalars())
    return sorted(found)


@dataclass(frozen=True)
class Coverage:
    """Which days of the tables the reports read are loaded, for which company: the load ledger, read once per
    dashboard or digest and handed to each section (`marks`: asset, date, company_scope, purged)."""

    marks: pd.DataFrame

    @classmethod
    def read(cls, engine: Engine) -> Coverage:
        return cls(ledger.read(engine, [*KPI_INPUTS, "resource_usage"]))

    def loaded(self, asset: str, index: pd.MultiIndex) -> pd.Series:
        """For each (company_id, date) of `index`: is `asset` loaded that day for that company?"""
        return ledger.covered(self.marks[self.marks["asset"] == asset], index)

    def span(self) -> tuple[date, date] | None:
        """First and last day the KPIs were loaded, or None before any load."""
        days = self.marks.loc[self.marks["asset"].isin(KPI_INPUTS), "date"]
        return (min(days), max(days)) if len(days) else None


def _lookback(start: date) -> date:
    """The first day `daily` reads: the 7-day figures of `start` need the 6 days before."""
    return start - timedelta(days=6)


def _grid(engine: Engine, coverage: Coverage, days: pd.DatetimeIndex, companies: Companies) -> pd.DataFrame:
    """A row per company of `companies` and day of `days`: the parts (NaN where not loaded), `loaded` (both KPI
    tables loaded that day for that company) and the company's latest name."""
    span = (days[0].date(), days[-1].date(), companies)
    counts = _read(engine, adoption_satisfaction, ["date", "company_id", "company_name", *COUNTS], *span)
    users = _read(engine, user_activity, ["date", "company_id", "company_name", *USERS], *span)
    members = _read(engine, company_members, ["date", "company_id", MEMBERS], *span)
    names = latest_names(counts, users)
    index = pd.MultiIndex.from_product([names.index, days], names=["company_id", "date"])
    covered = {kpi: coverage.loaded(kpi, index) for kpi in KPI_INPUTS}
    grid = counts.set_index(["company_id", "date"])[COUNTS].reindex(index, fill_value=0).astype("float64")
    grid = grid.where(covered["adoption_satisfaction"], axis=0)
    # A loaded day without a user_activity row: nobody active within 30 days (0 today, rolling figures unknown)
    people = users.set_index(["company_id", "date"])[USERS].reindex(index).astype("float64")
    people["active_users"] = people["active_users"].fillna(0)
    grid[USERS] = people.where(covered["user_activity"], axis=0)
    grid[MEMBERS] = members.set_index(["company_id", "date"])[MEMBERS].reindex(index).astype("float64")
    grid["loaded"] = covered["adoption_satisfaction"] & covered["user_activity"]
    grid = grid.reset_index()
    grid["company"] = grid["company_id"].map(names)
    return grid


def daily(
    engine: Engine, coverage: Coverage, start: date, end: date, keep: Collection[int] | None = None
) -> pd.DataFrame:
    """One row per company of `keep` (every one by default) and all companies together, and day of `start..end`:
    the parts, the rates of `RATIOS`, `loaded` (both KPI tables loaded that day for that company) and `week_loaded`
    (the 7 days ending on it are). Sorted by company, date. Companies are read `GRID_ROWS` company-days at a time:
    the total of thousands of companies costs the memory of a few hundred."""
    days = pd.date_range(_lookback(start), end, freq="D")
    ids = pd.Series(len(days), index=_company_ids(engine, days[0].date(), end))
    own, sums, loaded = [], [], []
    for companies in company_ranges.split(ids, GRID_ROWS):
        grid = _grid(engine, coverage, days, companies)
        by_day = grid.groupby("date")
        sums.append(by_day[PARTS].sum(min_count=grid["company_id"].nunique()))  # NaN: a company's day not loaded
        loaded.append(by_day["loaded"].all())
        own.append(grid if keep is None else grid[grid["company_id"].isin(keep)])
    total = reduce(operator.add, sums).reset_index()
    total["loaded"] = reduce(operator.and_, loaded).to_numpy()
    total["company_id"], total["company"] = ALL_COMPANIES_ID, ALL_COMPANIES
    out = pd.concat([*own, total], ignore_index=True).sort_values(["company_id", "date"], ignore_index=True)
    for name, rate in RATIOS.items():
        if all(p in out for p in rate.parts):
            out[name] = rate.of(out)
    out["week_loaded"] = whole_window(out.set_index(["company_id", "date"])["loaded"], 7).to_numpy()
    return out[out["date"] >= pd.Timestamp(start)].reset_index(drop=True)


def most_active(engine: Engine, start: date, end: date, days: int) -> pd.Series:
    """company_id -> its sessions over the last `days` days to `end`, for every company of `daily(start..end)`
    (0 without any; a day not loaded has no rows), the most active first (ties by id)."""
    t = adoption_satisfaction
    query = select(t.c.company_id, func.sum(t.c.sessions_count)).where(t.c.date > end - timedelta(days=days))
    with engine.connect() as conn:
        sessions = dict(conn.execute(query.where(t.c.date <= end).group_by(t.c.company_id)).all())
    ids = _company_ids(engine, _lookback(start), end)
    activity = pd.Series([sessions.get(i) or 0 for i in ids], index=ids, dtype="int64")
    return activity.sort_values(ascending=False, kind="stable")


def weekly(days: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """Per company and ISO week (Monday..Sunday) of `daily` rows: summed counts, satisfaction rate, the week's
    distinct active users (`periods`, from `people`: counted once, known for a wholly loaded week), adoption
    (Sunday's), the days loaded and the days not loaded."""
    rows = days.assign(week=days["date"].dt.strftime("%G-W%V"))
    keys = ["company_id", "company", "week"]
    out = rows.groupby(keys)[COUNTS].sum(min_count=1)
    out["satisfaction_rate"] = RATIOS["satisfaction_rate"].of(out)
    out["days_loaded"] = rows.groupby(keys)["loaded"].sum()
    gaps = rows.loc[~rows["loaded"], keys].assign(day=rows["date"].dt.strftime("%Y-%m-%d"))
    gaps = gaps.groupby(keys)["day"].agg(", ".join)  # text even when no day is missing (never NaT)
    out["missing"] = gaps.reindex(out.index).astype(object).fillna("")
    out = out.reset_index()
    sunday = rows[rows["date"].dt.day_of_week == 6].set_index(["company_id", "week"])
    at = pd.MultiIndex.from_frame(out[["company_id", "week"]])
    weeks = periods[periods["grain"] == "week"]
    people = weeks.set_index([weeks["company_id"], weeks["t"].dt.strftime("%G-W%V").rename("week")])[PEOPLE]
    out["active_users"] = people.reindex(at).where((out["days_loaded"] == 7).to_numpy()).to_numpy()
    out["adoption_rate"] = sunday["adoption_rate"].reindex(at).to_numpy()
    return out.sort_values(["company_id", "week"], ignore_index=True)


def _latest(engine: Engine, key: list[str], name: str, start: date, end: date) -> pd.Series:
    """`key` -> its latest `name` in resource_usage over `start..end` (on a day with two, the greatest)."""
    t = resource_usage
    columns = [t.c[k] for k in [*key, name]]
    query = select(*columns, func.max(t.c.date).label("date")).where(t.c.date.between(start, end)).group_by(*columns)
    with engine.connect() as conn:
        rows = pd.read_sql(query, conn)
    return rows.sort_values(["date", name], kind="stable").groupby(key)[name].last()


def top_resources(
    engine: Engine, coverage: Coverage, end: date, days: int = 30, limit: int = 10, keep: Collection[int] | None = None
) -> pd.DataFrame:
    """Most used tools and documents per company of `keep` (every one by default) and all companies, over the
    `days` days ending on `end`, with their uses in the `days` before and the change: NaN when it was not used
    then, or when those days are not all loaded (`uses_before` NaN too: unknown, not 0). Summed by the database."""
    start, before = end - timedelta(days=days - 1), end - timedelta(days=2 * days - 1)
    t = resource_usage
    period = case((t.c.date >= start, "uses"), else_="uses_before").label("period")
    resource = [t.c.resource_type, t.c.resource_id]
    when = t.c.date.between(before, end)
    every = select(*resource, period, func.sum(t.c.usage_count).label("usage_count")).where(when)
    own = select(t.c.company_id, *resource, period, func.sum(t.c.usage_count).label("usage_count")).where(when)
    own = own if keep is None else own.where(t.c.company_id.in_(list(keep)))
    with engine.connect() as conn:
        total = pd.read_sql(every.group_by(*resource, period), conn).assign(company_id=ALL_COMPANIES_ID)
        used = pd.read_sql(own.group_by(t.c.company_id, *resource, period), conn)
    companies = _latest(engine, ["company_id"], "company_name", before, end)
    used["company"] = used["company_id"].map(companies)
    keys = ["company_id", "company", "resource_type", "resource_id"]
    both = pd.concat([used, total.assign(company=ALL_COMPANIES)], ignore_index=True)
    table = both.pivot_table(index=keys, columns="period", values="usage_count", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=["uses", "uses_before"], fill_value=0).reset_index()
    names = _latest(engine, ["resource_type", "resource_id"], "resource_name", before, end)
    table["resource_name"] = names.reindex(pd.MultiIndex.from_frame(table[["resource_type", "resource_id"]])).to_numpy()
    earlier = pd.date_range(before, start - timedelta(days=1), freq="D")
    index = pd.MultiIndex.from_product([companies.index, earlier], names=["company_id", "date"])
    whole = coverage.loaded("resource_usage", index).groupby(level="company_id").all()
    whole.loc[ALL_COMPANIES_ID] = bool(whole.all()) if len(whole) else False
    table["uses_before"] = table["uses_before"].astype("float64").where(table["company_id"].map(whole).fillna(False))
    table["change"] = ratio(table["uses"] - table["uses_before"], table["uses_before"])
    table = table[table["uses"] > 0].sort_values(["company_id", "resource_type", "uses"], ascending=[True, True, False])
    return table.groupby(["company_id", "resource_type"]).head(limit).reset_index(drop=True)


@dataclass(frozen=True)
class Figure:
    """One headline figure of one company (or all): its value, the period before's, and why it is unknown (text in
    the reader's language)."""

    label: str
    kind: str  # "count" or "rate"
    value: float | None
    previous: float | None
    why: str = ""  # why `value` is unknown ("" when known)
    before: str = "the period before"  # what `previous` is


@dataclass(frozen=True)
class Headline:
    company_id: int
    company: str
    figures: tuple[Figure, ...]


def value_text(figure: Figure, lang: Language) -> str:
    if figure.value is None:
        return "–"
    return lang.percent(figure.value) if figure.kind == "rate" else lang.number(figure.value)


def change_words(now: float, before: float | None, rate: bool, lang: Language) -> str:
    """`metrics.change` as people read it in `lang`: "+1.2 pts", "-25%", "was 0" ("" when the period before is
    unknown)."""
    delta = change(now, before, rate)
    if delta is None:
        return lang.gettext("was 0") if before is not None else ""
    if rate:
        return lang.gettext("{points} pts").format(points=lang.signed(delta * 100, 1))
    return lang.change(delta)


def change_text(figure: Figure, lang: Language) -> str:
    if figure.value is None:
        return ""
    if figure.previous is None:
        return lang.gettext("{before}: not known").format(before=figure.before)
    words = change_words(figure.value, figure.previous, figure.kind == "rate", lang)
    if words == lang.gettext("was 0"):
        return lang.gettext("was 0 {before}").format(before=figure.before)
    return lang.gettext("{change} vs {before}").format(change=words, before=figure.before)


def _known(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def _week_figure(label: str, column: str, kind: str, now: pd.Series, before: pd.Series, lang: Language) -> Figure:
    """A figure over the 7 days ending on the last day (`now`: sums, `loaded_days`, `whole`), against the 7
    before."""
    whole, whole_before = (pd.notna(row["whole"]) and bool(row["whole"]) for row in (now, before))
    value = _known(now[column]) if whole else None
    previous = _known(before[column]) if whole_before else None
    partial = lang.gettext("not loaded: {count} of the last 7 days loaded")
    why = partial.format(count=int(now["loaded_days"])) if not whole else ""
    if not why and value is None:
        why = lang.gettext("no likes or dislikes in these 7 days")
    return Figure(lang.gettext(label), kind, value, previous, why, lang.gettext("the 7 days before"))


def _window_sums(days: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    rows = days[days["date"].between(first, last)]
    group = rows.groupby("company_id")
    sums = group[["sessions_count", "user_queries_count", "likes_count", "dislikes_count"]].sum(min_count=1)
    sums["loaded_days"] = group["loaded"].sum()
    whole = rows[rows["date"] == last].set_index("company_id")["week_loaded"]
    sums["whole"] = whole.reindex(sums.index, fill_value=False)
    sums["satisfaction_rate"] = RATIOS["satisfaction_rate"].of(sums)
    return sums


def headlines(days: pd.DataFrame, last: date, lang: Language) -> dict[int, Headline]:
    """Per company (and all): 30-day active users and adoption on `last` against 30 days before; sessions,
    user queries and satisfaction over the 7 days ending on `last` against the 7 before. Loaded days only: a
    window not wholly loaded is unknown, and says so (in `lang`)."""
    thirty_before = lang.gettext("30 days before")
    end, day = pd.Timestamp(last), pd.Timedelta(days=1)
    week, week_before = _window_sums(days, end - 6 * day, end), _window_sums(days, end - 13 * day, end - 7 * day)
    on_last = days[days["date"] == end].set_index("company_id")
    month_before = days[days["date"] == end - 30 * day].set_index("company_id")
    out = {}
    for company_id, company in days[["company_id", "company"]].drop_duplicates().itertuples(index=False):
        now, then = on_last.loc[company_id], month_before.reindex([company_id]).iloc[0]
        before = week_before.reindex([company_id]).iloc[0]
        users_why = "" if pd.notna(now["active_users_30d"]) else NEEDS_30_DAYS if now["loaded"] else NOT_LOADED
        users_why = lang.gettext(users_why) if users_why else ""
        now_week = week.loc[company_id]
        out[int(company_id)] = Headline(
            int(company_id),
            str(company),
            (
                Figure(lang.gettext("Active users, last 30 days"), "count", _known(now["active_users_30d"]),
                       _known(then["active_users_30d"]), users_why, thirty_before),
                Figure(lang.gettext("Adoption (30-day actives / members)"), "rate", _known(now["adoption_rate"]),
                       _known(then["adoption_rate"]), lang.gettext(NO_MEMBERS) if pd.isna(now[MEMBERS]) else users_why,
                       thirty_before),
                _week_figure(N_("Sessions, last 7 days"), "sessions_count", "count", now_week, before, lang),
                _week_figure(N_("User queries, last 7 days"), "user_queries_count", "count", now_week, before, lang),
                _week_figure(N_("Satisfaction, last 7 days"), "satisfaction_rate", "rate", now_week, before, lang),
            ),
        )  # fmt: skip
    return out


GRAINS = {"day": 90, "week": 104, "month": 60}  # the charts' points: the last 90 days, 104 weeks, 60 months
PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}  # pandas' periods of each grain (ISO weeks: Monday..Sunday)


def people(engine: Engine, first: date, last: date, keep: Collection[int]) -> pd.DataFrame:
    """Distinct people per week and month (`active_users_by_period`: counted once from the per-user rows, never
    added up from days) of `first..last`: one row per company of `keep` and for all companies together (company_id,
    grain, t, people)."""
    p = active_users_by_period.c
    shown = p.grain.in_(["week", "month"]) & p.period_end.between(first, last + timedelta(days=31))
    own = select(p.company_id, p.grain, p.period_start, p.active_users).where(shown & p.company_id.in_(list(keep)))
    every = select(p.grain, p.period_start, func.sum(p.active_users)).where(shown).group_by(p.grain, p.period_start)
    with engine.connect() as conn:
        rows = [*conn.execute(own).all(), *((ALL_COMPANIES_ID, *row) for row in conn.execute(every).all())]
    frame = pd.DataFrame(rows, columns=["company_id", "grain", "t", PEOPLE])
    frame["t"] = pd.to_datetime(frame["t"])
    return frame.astype({"company_id": "int64", PEOPLE: "float64"})


def chart_series(days: pd.DataFrame, last: date, periods: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """`SERIES` per company at each grain (`GRAINS`), from loaded days only: one point a day, an ISO week (its
    Monday) or a month (its first day). A week's or month's counts are sums over its loaded days, paced to its
    length when not all are loaded (so that the period in progress compares per loaded day, never looks like a
    drop); its 7- and 30-day actives and members are its last loaded day's (levels), its daily actives their
    average per loaded day (stickiness's part); its distinct people are `periods`' (see `people`). `loaded_days`
    and `period_days` say whether it is wholly loaded, `end` is its last day (never after `last`). A point with no
    loaded day is NaN, a gap."""
    out = {}
    end = pd.Timestamp(last)
    for grain, most in GRAINS.items():
        period = days["date"].dt.to_period(PERIODS[grain])
        shown = period > end.to_period(PERIODS[grain]) - most
        rows, period = days[shown], period[shown]
        group = rows.groupby([rows["company_id"], period.dt.start_time.rename("t")])
        on_loaded = rows[rows["loaded"]].sort_values("date")
        levels = on_loaded.groupby([on_loaded["company_id"], period[rows["loaded"]].dt.start_time.rename("t")])
        points = group[COUNTS].sum(min_count=1).join(group[["active_users"]].mean())
        points = points.join(levels[[*USERS[1:], MEMBERS]].last())
        points["loaded_days"] = group["loaded"].sum().astype("int64")
        points = points.reset_index()
        period_end = points["t"].dt.to_period(PERIODS[grain]).dt.end_time.dt.normalize()
        points["end"] = period_end.where(period_end <= end, end)
        points["period_days"] = (period_end - points["t"]).dt.days + 1
        short = (points["loaded_days"] > 0) & (points["loaded_days"] < points["period_days"])
        pace = (points["period_days"] / points["loaded_days"])[short]
        points.loc[short, COUNTS] = points.loc[short, COUNTS].mul(pace, axis=0)
        if grain == "day":
            points[PEOPLE] = points["active_users"]
        else:
            own = periods[periods["grain"] == grain][["company_id", "t", PEOPLE]]
            points = points.merge(own, on=["company_id", "t"], how="left")
        values = [*PARTS, PEOPLE]
        points[values] = points[values].where(points[values].abs() < 100, points[values].round(0)).round(1)
        out[grain] = points.sort_values(["company_id", "t"], ignore_index=True)
    return out
