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

from sqlalchemy import Engine

from reporting_assets.alerts import history
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID
from reporting_assets.neutralise import plain
from reporting_assets.reports import figures

DIGEST_FIGURES = {  # label -> column of figures.weekly
    "sessions": "sessions_count",
    "user queries": "user_queries_count",
    "satisfaction rate": "satisfaction_rate",
    "active users": "active_users",
    "adoption rate": "adoption_rate",
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
class DigestModel:
    week: str  # ISO week, e.g. 2026-W47
    previous: str
    monday: date
    missing: tuple[date, ...]  # days of the week not loaded for every company
    total: CompanyWeek
    companies: tuple[CompanyWeek, ...]
    dashboard_url: str | None


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


def build(engine: Engine, week: str, dashboard_url: str | None = None) -> DigestModel:
    """The digest's model for ISO `week` (vs the week before), from the warehouse."""
    monday = monday_of(week)
    sunday, previous = monday + timedelta(days=6), week_of(monday - timedelta(days=7))
    coverage = figures.Coverage.read(engine)
    days = figures.daily(engine, coverage, monday - timedelta(days=7), sunday)
    weeks = figures.weekly(days).set_index(["company_id", "week"])
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
    return DigestModel(week, previous, monday, missing, total, others, dashboard_url)


def _delta(now: float | None, before: float | None, rate: bool = False) -> str:
    if now is None:
        return "n/a"
    shown = f"{now:.1%}" if rate else f"{int(now):,}"
    words = figures.change_words(now, before, rate)
    return f"{shown} ({words})" if words else shown


def _block(company: CompanyWeek) -> list[str]:
    head = company.company if company.company_id == ALL_COMPANIES_ID else f"{company.company} (id {company.company_id})"
    return [
        "",
        head,
        *(f"- {label}: {_delta(company.now[c], company.before[c], c in RATES)}" for label, c in DIGEST_FIGURES.items()),
        f"- top tool: {company.top_tool or 'none'}; top document: {company.top_document or 'none'}",
        f"- alerts: {company.opened} opened, {company.resolved} resolved",
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


def _summary(model: DigestModel) -> list[str]:
    """What a larger instance's digest holds besides the totals: movers, open alerts, where the rest is."""
    column = "active_users"
    if not any(_compared(c, column) for c in model.companies):
        column = "sessions_count"  # active users not known for two whole weeks yet
    label = next(name for name, c in DIGEST_FIGURES.items() if c == column)
    grew, fell = movers(model.companies, column)
    lines = []
    for title, chosen in (("Grew most", grew), ("Fell most", fell)):
        lines += ["", f"{title} ({label}, week against the week before):"]
        lines += [f"- {c.company} (id {c.company_id}): {_delta(c.now[column], c.before[column])}" for c in chosen]
        lines += [] if chosen else ["- none"]
    alerting = sorted((c for c in model.companies if c.firing), key=lambda c: (-c.firing, c.company_id))
    lines += ["", f"Companies with open alerts: {len(alerting)}"]
    lines += [f"- {c.company} (id {c.company_id}): {c.firing} firing" for c in alerting[:ALERT_LINES]]
    if len(alerting) > ALERT_LINES:
        lines.append(f"- and {len(alerting) - ALERT_LINES} more (table alert_events)")
    where = f"the dashboard: {model.dashboard_url}" if model.dashboard_url else "the dashboard (usage_dashboard)"
    lines += ["", f"{len(model.companies)} companies: each of them, and every figure, is on {where}."]
    return lines


def _name(resource: str | None) -> str | None:
    return None if resource is None else plain(resource)


def text(model: DigestModel) -> Digest:
    """The digest's title and body: a pure function of its model."""
    sunday = model.monday + timedelta(days=6)
    lines = [f"Week {model.week} ({model.monday} to {sunday}) against {model.previous}."]
    if model.missing:
        lines.append(
            f"Not loaded: {', '.join(map(str, model.missing))}. The figures cover {7 - len(model.missing)} of 7 "
            "days: they are not the whole week."
        )
    lines += _block(model.total)
    if len(model.companies) <= DETAILED_COMPANIES:
        for company in model.companies:
            lines += _block(company)
        if model.dashboard_url:
            lines += ["", f"Dashboard: {model.dashboard_url}"]
    else:
        lines += _summary(model)
    partial = f" ({len(model.missing)} days not loaded)" if model.missing else ""
    return Digest(model.week, f"Paradigm usage, week {model.week}{partial}", "\n".join(lines), list(model.missing))


def compose(engine: Engine, week: str, dashboard_url: str | None = None) -> Digest:
    """The digest of ISO `week` (vs the week before), from the warehouse."""
    return text(build(engine, week, dashboard_url))
