"""The weekly digest: the last complete ISO week against the week before, per company, as one short message.

A day of the week that was not loaded is named, and the figures say how many days they cover: a partial week
is never presented as a quiet one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select

from reporting_assets.lazy import pandas as pd
from reporting_assets.reports import figures
from reporting_assets.reports.figures import ALL
from reporting_assets.warehouse.tables import alert_events

NAN = float("nan")
FIGURES = {  # label -> column of figures.weekly
    "sessions": "sessions_count",
    "user queries": "user_queries_count",
    "satisfaction rate": "satisfaction_rate",
    "active users": "active_users",
    "adoption rate": "adoption_rate",
}
RATES = {"satisfaction_rate", "adoption_rate"}


@dataclass(frozen=True)
class Digest:
    week: str  # ISO week, e.g. 2026-W47
    title: str
    body: str
    missing: list[date]  # days of the week not loaded for every company


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(week: str) -> date:
    return date.fromisocalendar(int(week[:4]), int(week.split("W")[1]), 1)


def last_complete_week(now: datetime) -> str:
    """The ISO week before the one `now` falls in."""
    return week_of(now.date() - timedelta(days=7))


def _delta(now: float, before: float, rate: bool = False) -> str:
    if pd.isna(now):
        return "n/a"
    shown = f"{now:.1%}" if rate else f"{int(now):,}"
    if pd.isna(before):
        return shown
    if rate:
        return f"{shown} ({(now - before) * 100:+.1f} pts)"
    return f"{shown} ({(now - before) / before:+.0%})" if before else f"{shown} (was 0)"


def _alerts(engine: Engine, monday: date, sunday: date) -> dict[int, tuple[int, int]]:
    """company_id -> (alerts opened, alerts resolved) during the week (company 0: all together)."""
    events = alert_events.c
    query = select(events.company_id, events.started_at, events.resolved_at).where(
        events.status != "pending",
        (events.started_at.between(monday, sunday)) | (events.resolved_at.between(monday, sunday)),
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: dict[int, list[int]] = {}
    for company_id, started, resolved in rows:
        for key in (company_id, 0):
            counts = out.setdefault(key, [0, 0])
            counts[0] += monday <= started <= sunday
            counts[1] += resolved is not None and monday <= resolved <= sunday
    return {k: (v[0], v[1]) for k, v in out.items()}


def compose(engine: Engine, week: str, dashboard_url: str | None = None) -> Digest:
    """The digest of ISO `week` (vs the week before), from the warehouse."""
    monday = monday_of(week)
    sunday, previous = monday + timedelta(days=6), week_of(monday - timedelta(days=7))
    days = figures.daily(engine, monday - timedelta(days=7), sunday)
    weeks = figures.weekly(days).set_index(["company_id", "week"])
    totals = days[(days["company_id"] == 0) & (days["date"] >= pd.Timestamp(monday))]
    if len(totals):
        missing = [d.date() for d in totals.loc[~totals["loaded"], "date"]]
    else:  # nothing loaded at all
        missing = [monday + timedelta(days=i) for i in range(7)]
    top = figures.top_resources(engine, sunday, days=7, limit=1)
    tops = {
        (int(c), t): str(n) for c, t, n in top[["company_id", "resource_type", "resource_name"]].itertuples(index=False)
    }
    alerts = _alerts(engine, monday, sunday)

    lines = [f"Week {week} ({monday} to {sunday}) against {previous}."]
    if missing:
        lines.append(
            f"Not loaded: {', '.join(map(str, missing))}. The figures cover {7 - len(missing)} of 7 days: "
            "they are not the whole week."
        )
    companies = days[["company_id", "company"]].drop_duplicates().itertuples(index=False)
    for company_id, company in companies:
        if (company_id, week) not in weeks.index:
            continue
        now = weeks.loc[(company_id, week)]
        unknown = pd.Series(NAN, index=weeks.columns)
        before = weeks.loc[(company_id, previous)] if (company_id, previous) in weeks.index else unknown
        opened, resolved = alerts.get(company_id, (0, 0))
        lines += [
            "",
            f"{company}" + ("" if company == ALL else f" (id {company_id})"),
            *(f"- {label}: {_delta(now[c], before[c], c in RATES)}" for label, c in FIGURES.items()),
            f"- top tool: {tops.get((company_id, 'tool'), 'none')}; "
            f"top document: {tops.get((company_id, 'document'), 'none')}",
            f"- alerts: {opened} opened, {resolved} resolved",
        ]
    if dashboard_url:
        lines += ["", f"Dashboard: {dashboard_url}"]
    partial = f" ({len(missing)} days not loaded)" if missing else ""
    return Digest(week, f"Paradigm usage, week {week}{partial}", "\n".join(lines), missing)
