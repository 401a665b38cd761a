"""The dashboard's tables: columns (key, label, kind), rows as JSON values, and the weekly, top resources and
alerts tables, each downloadable whole as CSV by `dashboard.js`."""

from __future__ import annotations

import math

from reporting_assets.alerts.history import AlertRow
from reporting_assets.i18n import N_, Language
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


def column_specs(columns: list[tuple[str, str, str]], lang: Language) -> list[Column]:
    """Columns of a table of the page: (key, label (a message), kind); kind "" = in the CSV only."""
    return [Column(k, lang.gettext(label), kind or "text", not kind) for k, label, kind in columns]


def table(
    title: str,
    download: str,
    columns: list[tuple[str, str, str]],
    rows: list[list],
    lang: Language,
    *,
    every_company: bool = False,
    empty: str = "",
) -> Table:
    """A table of the page (`title`, `download` and `empty` already in `lang`): columns (key, label, kind; kind "" =
    in the CSV only), rows whose first value is the company id the picker filters on; with `every_company`, "All
    companies" shows every company's rows."""
    shown = empty or lang.gettext("None.")
    return Table(title, download, column_specs(columns, lang), rows, SHOWN_ROWS, every_company, shown)


def weekly(days: pd.DataFrame, periods: pd.DataFrame, lang: Language) -> Table:
    weeks = figures.weekly(days, periods).groupby("company_id").tail(WEEKS_SHOWN)
    weeks = weeks.sort_values(["company_id", "week"], ascending=[True, False])
    columns = [
        ("company_id", N_("Company id"), ""), ("company", N_("Company"), ""), ("week", N_("Week"), "text"),
        ("sessions_count", N_("Sessions"), "count"), ("user_queries_count", N_("User queries"), "count"),
        ("satisfaction_rate", N_("Satisfaction"), "rate"), ("active_users", N_("Active users (week)"), "count"),
        ("adoption_rate", N_("Adoption"), "rate"), ("days_loaded", N_("Days loaded (of 7)"), "count"),
        ("missing", N_("Days not loaded"), "text"),
    ]  # fmt: skip
    rows = values(weeks, [c[0] for c in columns])
    title = lang.gettext("By ISO week (last {count})").format(count=WEEKS_SHOWN)
    return table(title, lang.gettext("the weekly table of every company"), columns, rows, lang)


def top(top: pd.DataFrame, lang: Language) -> Table:
    columns = [
        ("company_id", N_("Company id"), ""), ("company", N_("Company"), ""), ("resource_type", N_("Type"), "text"),
        ("resource_name", N_("Tool or document"), "text"), ("uses", N_("Uses, last 30 days"), "count"),
        ("uses_before", N_("30 days before"), "count"), ("change", N_("Change"), "rate"),
    ]  # fmt: skip
    return table(
        lang.gettext("Top tools and documents, last 30 days"),
        lang.gettext("top tools and documents"),
        columns,
        values(top, [c[0] for c in columns]),
        lang,
    )


def alerts(found: list[AlertRow], lang: Language) -> Table:
    """The alerts of `history.for_reports`."""
    columns = [
        ("company_id", N_("Company id"), ""), ("status", N_("Status"), "text"), ("severity", N_("Severity"), "text"),
        ("rule_name", N_("Rule"), "text"), ("company_name", N_("Company"), "text"), ("started_at", N_("Since"), "text"),
        ("resolved_at", N_("Resolved"), "text"), ("value", N_("Value"), "number"), ("threshold", N_("Limit"), "number"),
    ]  # fmt: skip
    rows = [
        [a.company_id, a.status, a.severity, a.rule_name, a.company_name, a.started_at.isoformat(),
         a.resolved_at.isoformat() if a.resolved_at else "", _number(a.value), _number(a.threshold)]
        for a in found
    ]  # fmt: skip
    return table(
        lang.gettext("Open and recent alerts (last 30 days)"), lang.gettext("the open and recent alerts"), columns,
        rows, lang, every_company=True, empty=lang.gettext("No alert open or resolved in the last 30 days."),
    )  # fmt: skip
