"""The weekly digest: the last complete ISO week against the week before, as one short message.

`build` reads the warehouse into a `DigestModel`; `text` lays it out and is a pure function of it. Up to
`DETAILED_COMPANIES` companies, each gets its own lines; beyond, the message holds the totals, the top movers,
the companies with open alerts and the dashboard's link, so that it fits a chat channel (Slack cuts at 40,000
characters, a Teams webhook refuses about 28 KB) whatever the instance's size. A day of the week that was not
loaded is named, and the figures say how many days they cover: a partial week is never presented as a quiet one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, case, select

from reporting_assets.alerts import history
from reporting_assets.custom_kpis import periods
from reporting_assets.custom_kpis.definition import CustomKpi, KpiFile
from reporting_assets.i18n import N_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID
from reporting_assets.neutralise import plain
from reporting_assets.reports import figures
from reporting_assets.warehouse.tables import active_users_by_period, custom_kpis

DIGEST_FIGURES = {  # label (a message) -> column of figures.weekly
    N_("sessions"): "sessions_count",
    N_("user queries"): "user_queries_count",
    N_("satisfaction rate"): "satisfaction_rate",
    N_("active users"): "active_users",
    N_("adoption rate"): "adoption_rate",
}
RATES = {"satisfaction_rate", "adoption_rate"}
DETAILED_COMPANIES = 10  # up to this many companies, one block each
MOVERS = 5  # companies that grew most, and fell most, in a larger instance's digest
ALERT_LINES = 20  # companies with open alerts listed in a larger instance's digest


@dataclass(frozen=True)
class CompanyWeek:
    company_id: int
    company: str
    now: dict[str, float | None]  # column of DIGEST_FIGURES -> the week's value (None: unknown)
    before: dict[str, float | None]  # the same for the week before
    top_tool: str | None
    top_document: str | None
    opened: int  # alerts opened during the week
    resolved: int  # alerts resolved during the week
    firing: int  # alerts firing now


@dataclass(frozen=True)
class KpiWeek:
    """One custom KPI (REPORTING_KPIS) over every company: the week's value and the week before's."""

    kpi: CustomKpi
    now: float | None  # None: no loaded day, or a ratio's denominator of 0
    before: float | None


@dataclass(frozen=True)
class DigestModel:
    week: str  # ISO week, e.g. 2026-W47
    previous: str
    monday: date
    missing: tuple[date, ...]  # days of the week not loaded for every company
    total: CompanyWeek
    companies: tuple[CompanyWeek, ...]
    dashboard_url: str | None
    kpis: tuple[KpiWeek, ...] = ()  # your own KPIs, in the file's order


@dataclass(frozen=True)
class Digest:
    week: str
    title: str
    body: str
    missing: list[date]


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(week: str) -> date:
    return date.fromisocalendar(int(week[:4]), int(week.split("W")[1]), 1)


def last_complete_week(now: datetime) -> str:
    """The ISO week before the one `now` falls in."""
    return week_of(now.date() - timedelta(days=7))


def _alerts(engine: Engine, monday: date, sunday: date) -> pd.DataFrame:
    """Per company (and all): alerts opened and resolved during the week, and firing now."""
    found = history.for_reports(engine, monday)
    rows = pd.DataFrame(
        {
            "company_id": [a.company_id for a in found],
            "opened": [monday <= a.started_at <= sunday for a in found],
            "resolved": [a.resolved_at is not None and monday <= a.resolved_at <= sunday for a in found],
            "firing": [a.status == "firing" for a in found],
        }
    )
    both = pd.concat([rows, rows.assign(company_id=ALL_COMPANIES_ID)])
    return both.groupby("company_id")[["opened", "resolved", "firing"]].sum()


def _figures(row: pd.Series | None) -> dict[str, float | None]:
    return {c: None if row is None or pd.isna(row[c]) else float(row[c]) for c in DIGEST_FIGURES.values()}


def _kpi_weeks(engine: Engine, kpis: KpiFile, monday: date) -> tuple[KpiWeek, ...]:
    """Each KPI of `kpis` over every company, the week of `monday` and the week before, on the days loaded (as in
    `custom_kpis`): per company as `periods.by_period` aggregates a week (a level on its last loaded day, people
    counted once a week), then the companies' parts added up and divided."""
    if not kpis.kpis:
        return ()
    t, p = custom_kpis, active_users_by_period
    week = case((t.c.date >= monday, monday), else_=monday - timedelta(days=7)).label("t")
    query = select(t.c.kpi, t.c.company_id, week, t.c.date, t.c.numerator, t.c.denominator).where(
        t.c.date.between(monday - timedelta(days=7), monday + timedelta(days=6)), t.c.kpi.in_(kpis.names())
    )
    mondays = [monday - timedelta(days=7), monday]
    weekly = select(p.c.company_id, p.c.period_start, p.c.active_users).where(
        p.c.grain == "week", p.c.period_start.in_(mondays)
    )
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(query).all(), columns=["kpi", "company_id", "t", "date", "numerator",
                                                                "denominator"])  # fmt: skip
        people = pd.DataFrame(conn.execute(weekly).all(), columns=[*periods.KEY, "people"])
    rows["t"] = pd.to_datetime(rows["t"])
    people = people.assign(t=pd.to_datetime(people["t"])).set_index(periods.KEY)["people"]
    out = []
    for kpi in kpis.kpis:
        own = periods.by_period(kpi, rows[rows["kpi"] == kpi.name], people).groupby(level="t")
        summed = own[["numerator", "denominator"]].sum(min_count=1)
        den = summed["denominator"]
        value = summed["numerator"] if kpi.denominator is None else summed["numerator"] / den.where(den > 0)
        week_value = {w: None if pd.isna(value.get(pd.Timestamp(w))) else float(value[pd.Timestamp(w)])
                      for w in mondays}  # fmt: skip
        out.append(KpiWeek(kpi, week_value[monday], week_value[mondays[0]]))
    return tuple(out)


def build(engine: Engine, week: str, dashboard_url: str | None, kpis: KpiFile) -> DigestModel:
    """The digest's model for ISO `week` (vs the week before), from the warehouse, with the KPIs of `kpis`."""
    monday = monday_of(week)
    sunday, previous = monday + timedelta(days=6), week_of(monday - timedelta(days=7))
    coverage = figures.Coverage.read(engine)
    days = figures.daily(engine, coverage, monday - timedelta(days=7), sunday)
    periods = figures.people(engine, monday - timedelta(days=7), sunday, days["company_id"].unique().tolist())
    weeks = figures.weekly(days, periods).set_index(["company_id", "week"])
    totals = days[(days["company_id"] == ALL_COMPANIES_ID) & (days["date"] >= pd.Timestamp(monday))]
    if len(totals):
        missing = tuple(d.date() for d in totals.loc[~totals["loaded"], "date"])
    else:  # nothing loaded at all
        missing = tuple(monday + timedelta(days=i) for i in range(7))
    top = figures.top_resources(engine, coverage, sunday, days=7, limit=1)
    tops = dict(zip(zip(top["company_id"], top["resource_type"], strict=True), top["resource_name"], strict=True))
    alerts = _alerts(engine, monday, sunday)
    companies = []
    for company_id, company in days[["company_id", "company"]].drop_duplicates().itertuples(index=False):
        if (company_id, week) not in weeks.index:
            continue
        before = weeks.loc[(company_id, previous)] if (company_id, previous) in weeks.index else None
        counts = alerts.loc[company_id] if company_id in alerts.index else {"opened": 0, "resolved": 0, "firing": 0}
        companies.append(
            CompanyWeek(
                int(company_id), plain(company), _figures(weeks.loc[(company_id, week)]), _figures(before),
                _name(tops.get((company_id, "tool"))), _name(tops.get((company_id, "document"))),
                int(counts["opened"]), int(counts["resolved"]), int(counts["firing"]),
            )
        )  # fmt: skip
    total = next((c for c in companies if c.company_id == ALL_COMPANIES_ID), None)
    others = tuple(c for c in companies if c.company_id != ALL_COMPANIES_ID)
    if total is None:  # nothing loaded that week
        empty = dict.fromkeys(DIGEST_FIGURES.values())
        total = CompanyWeek(ALL_COMPANIES_ID, ALL_COMPANIES, empty, empty, None, None, 0, 0, 0)
    return DigestModel(week, previous, monday, missing, total, others, dashboard_url, _kpi_weeks(engine, kpis, monday))


def _delta(now: float | None, before: float | None, lang: Language, rate: bool = False) -> str:
    if now is None:
        return lang.gettext("n/a")
    shown = lang.percent(now) if rate else lang.number(int(now))
    words = figures.change_words(now, before, rate, lang)
    return f"{shown} ({words})" if words else shown


def _kpi_lines(model: DigestModel, lang: Language) -> list[str]:
    """Your KPIs, every company together: each one's value and its change against the week before."""
    if not model.kpis:
        return []
    lines = ["", lang.gettext("Your KPIs, all companies:")]
    for week in model.kpis:
        percent = week.kpi.format == "percent"
        if week.now is None:
            shown = lang.gettext("n/a")
        else:
            shown = (
                lang.percent(week.now) if percent else lang.number(week.now, 2 if week.kpi.format == "decimal" else 0)
            )
            words = figures.change_words(week.now, week.before, percent, lang)
            shown = f"{shown} ({words})" if words else shown
        lines.append(_line(lang, plain(week.kpi.label_in(lang.code)), shown))
    return lines


def _line(lang: Language, label: str, value: str) -> str:
    """One line of a list: "- sessions: 1,200" ("- sessions : 1 200" in French)."""
    return "- " + lang.gettext("{label}: {value}").format(label=label, value=value)


def _who(company: CompanyWeek, lang: Language) -> str:
    if company.company_id == ALL_COMPANIES_ID:
        return lang.gettext(ALL_COMPANIES)
    return lang.gettext("{company} (id {id})").format(company=company.company, id=company.company_id)


def _block(company: CompanyWeek, lang: Language) -> list[str]:
    none = lang.gettext("none")
    return [
        "",
        _who(company, lang),
        *(
            _line(lang, lang.gettext(label), _delta(company.now[c], company.before[c], lang, c in RATES))
            for label, c in DIGEST_FIGURES.items()
        ),
        "- "
        + lang.gettext("top tool: {tool}; top document: {document}").format(
            tool=company.top_tool or none, document=company.top_document or none
        ),
        "- "
        + lang.gettext("alerts: {opened} opened, {resolved} resolved").format(
            opened=lang.number(company.opened), resolved=lang.number(company.resolved)
        ),
    ]


def movers(companies: tuple[CompanyWeek, ...], column: str) -> tuple[list[CompanyWeek], list[CompanyWeek]]:
    """The `MOVERS` companies whose `column` grew most, and fell most, against the week before."""
    change = {c.company_id: c.now[column] - c.before[column] for c in companies if _compared(c, column)}
    ranked = sorted(
        (c for c in companies if c.company_id in change), key=lambda c: (change[c.company_id], c.company_id)
    )
    fell = [c for c in ranked if change[c.company_id] < 0][:MOVERS]
    grew = sorted((c for c in ranked if change[c.company_id] > 0), key=lambda c: (-change[c.company_id], c.company_id))
    return grew[:MOVERS], fell


def _compared(company: CompanyWeek, column: str) -> bool:
    return company.now[column] is not None and company.before[column] is not None


def _summary(model: DigestModel, lang: Language) -> list[str]:
    """What a larger instance's digest holds besides the totals: movers, open alerts, where the rest is."""
    column = "active_users"
    if not any(_compared(c, column) for c in model.companies):
        column = "sessions_count"  # active users not known for two whole weeks yet
    label = lang.gettext(next(name for name, c in DIGEST_FIGURES.items() if c == column))
    grew, fell = movers(model.companies, column)
    lines = []
    for title, chosen in ((N_("Grew most"), grew), (N_("Fell most"), fell)):
        against = lang.gettext("{title} ({figure}, week against the week before):")
        lines += ["", against.format(title=lang.gettext(title), figure=label)]
        lines += [_line(lang, _who(c, lang), _delta(c.now[column], c.before[column], lang)) for c in chosen]
        lines += [] if chosen else [f"- {lang.gettext('none')}"]
    alerting = sorted((c for c in model.companies if c.firing), key=lambda c: (-c.firing, c.company_id))
    lines += ["", lang.gettext("Companies with open alerts: {count}").format(count=lang.number(len(alerting)))]
    for c in alerting[:ALERT_LINES]:
        firing = lang.ngettext("{count} firing", "{count} firing", c.firing)
        lines.append(_line(lang, _who(c, lang), firing.format(count=lang.number(c.firing))))
    if len(alerting) > ALERT_LINES:
        more = lang.gettext("and {count} more (table alert_events)")
        lines.append(f"- {more.format(count=lang.number(len(alerting) - ALERT_LINES))}")
    if model.dashboard_url:
        where = lang.gettext("the dashboard: {url}").format(url=model.dashboard_url)
    else:
        where = lang.gettext("the dashboard (usage_dashboard)")
    every = lang.ngettext(
        "{count} company: it, and every figure, is on {where}.",
        "{count} companies: each of them, and every figure, is on {where}.",
        len(model.companies),
    )
    lines += ["", every.format(count=lang.number(len(model.companies)), where=where)]
    return lines


def _name(resource: str | None) -> str | None:
    return None if resource is None else plain(resource)


def text(model: DigestModel, lang: Language) -> Digest:
    """The digest's title and body in `lang`: a pure function of its model."""
    sunday = model.monday + timedelta(days=6)
    lines = [
        lang.gettext("Week {week} ({monday} to {sunday}) against {previous}.").format(
            week=model.week, monday=lang.date(model.monday), sunday=lang.date(sunday), previous=model.previous
        )
    ]
    if model.missing:
        partial = lang.gettext("Not loaded: {days}. The figures cover {loaded} of 7 days: they are not the whole week.")
        days = "; ".join(lang.date(d) for d in model.missing)  # an English date holds a comma
        lines.append(partial.format(days=days, loaded=7 - len(model.missing)))
    lines += _block(model.total, lang)
    lines += _kpi_lines(model, lang)
    if len(model.companies) <= DETAILED_COMPANIES:
        for company in model.companies:
            lines += _block(company, lang)
        if model.dashboard_url:
            lines += ["", lang.gettext("Dashboard: {url}").format(url=model.dashboard_url)]
    else:
        lines += _summary(model, lang)
    title = lang.gettext("Paradigm usage, week {week}").format(week=model.week)
    if model.missing:
        missing = lang.ngettext("({count} day not loaded)", "({count} days not loaded)", len(model.missing))
        title += " " + missing.format(count=len(model.missing))
    return Digest(model.week, title, "\n".join(lines), list(model.missing))


def compose(engine: Engine, week: str, dashboard_url: str | None, lang: Language, kpis: KpiFile) -> Digest:
    """The digest of ISO `week` (vs the week before), from the warehouse, in `lang`, with the KPIs of `kpis`."""
    return text(build(engine, week, dashboard_url, kpis), lang)
