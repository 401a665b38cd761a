"""The dashboard's tables: columns (key, label, kind), rows as JSON values, and the weekly, top resources and
alerts tables, each downloadable whole as CSV by `dashboard.js`."""

from __future__ import annotations

import math

from reporting_assets.alerts.history import AlertRow
from reporting_assets.lazy import pandas as pd
from reporting_assets.reports import figures
from reporting_assets.reports.page_model import Column, Table

WEEKS_SHOWN = 12
SHOWN_ROWS = 100  # rows of a table in the page; its CSV holds them all


def values(frame: pd.DataFrame, columns: list[str]) -> list[list]:
    """Rows as JSON values: NaN becomes null (shown "–", an empty CSV cell), numpy numbers plain numbers."""
    out = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [[v.item() if hasattr(v, "item") else v for v in row] for row in out.itertuples(index=False)]


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def column_specs(columns: list[tuple[str, str, str]]) -> list[Column]:
    """Columns of a table of the page: (key, label, kind); kind "" = in the CSV only."""
    return [Column(k, label, kind or "text", not kind) for k, label, kind in columns]


def table(
    title: str,
    download: str,
    columns: list[tuple[str, str, str]],
    rows: list[list],
    *,
    every_company: bool = False,
    empty: str = "None.",
) -> Table:
    """A table of the page: columns (key, label, kind; kind "" = in the CSV only), rows whose first value is the
    company id the picker filters on; with `every_company`, "All companies" shows every company's rows."""
    return Table(title, download, column_specs(columns), rows, SHOWN_ROWS, every_company, empty)


def weekly(days: pd.DataFrame) -> Table:
    weeks = figures.weekly(days).groupby("company_id").tail(WEEKS_SHOWN)
    weeks = weeks.sort_values(["company_id", "week"], ascending=[True, False])
    columns = [
        ("company_id", "Company id", ""), ("company", "Company", ""), ("week", "Week", "text"),
        ("sessions_count", "Sessions", "count"), ("user_queries_count", "User queries", "count"),
        ("satisfaction_rate", "Satisfaction", "rate"), ("active_users", "Active users (week)", "count"),
        ("adoption_rate", "Adoption", "rate"), ("days_loaded", "Days loaded (of 7)", "count"),
        ("missing", "Days not loaded", "text"),
    ]  # fmt: skip
    rows = values(weeks, [c[0] for c in columns])
    return table(f"By ISO week (last {WEEKS_SHOWN})", "the weekly table of every company", columns, rows)


def top(top: pd.DataFrame) -> Table:
    columns = [
        ("company_id", "Company id", ""), ("company", "Company", ""), ("resource_type", "Type", "text"),
        ("resource_name", "Tool or document", "text"), ("uses", "Uses, last 30 days", "count"),
        ("uses_before", "30 days before", "count"), ("change", "Change", "rate"),
    ]  # fmt: skip
    return table(
        "Top tools and documents, last 30 days",
        "top tools and documents",
        columns,
        values(top, [c[0] for c in columns]),
    )


def alerts(found: list[AlertRow]) -> Table:
    """The alerts of `history.for_reports`."""
    columns = [
        ("company_id", "Company id", ""), ("status", "Status", "text"), ("severity", "Severity", "text"),
        ("rule_name", "Rule", "text"), ("company_name", "Company", "text"), ("started_at", "Since", "text"),
        ("resolved_at", "Resolved", "text"), ("value", "Value", "number"), ("threshold", "Limit", "number"),
    ]  # fmt: skip
    rows = [
        [a.company_id, a.status, a.severity, a.rule_name, a.company_name, a.started_at.isoformat(),
         a.resolved_at.isoformat() if a.resolved_at else "", _number(a.value), _number(a.threshold)]
        for a in found
    ]  # fmt: skip
    return table(
        "Open and recent alerts (last 30 days)", "the open and recent alerts", columns, rows, every_company=True,
        empty="No alert open or resolved in the last 30 days.",
    )  # fmt: skip
