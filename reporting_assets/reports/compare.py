"""The dashboard's companies side by side: one row per company of the picker, its headline figures and their
change, the last loaded day, the open alerts and a trend of weekly sessions (shown with "All companies")."""

from __future__ import annotations

from collections import Counter

from reporting_assets.alerts.history import AlertRow
from reporting_assets.i18n import N_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import change
from reporting_assets.reports import figures, page_tables
from reporting_assets.reports.figures import Figure, change_text
from reporting_assets.reports.page_model import Compare

COLUMNS = [  # (key, label, kind); kind "" = in the CSV only
    ("company_id", N_("Company id"), ""), ("company", N_("Company"), "text"),
    ("active_users_30d", N_("Active users, 30 days"), "count"),
    ("active_users_30d_change", N_("vs 30 days before"), "change"),
    ("adoption_rate", N_("Adoption"), "rate"),
    ("sessions_7d", N_("Sessions, 7 days"), "count"), ("sessions_7d_change", N_("vs 7 days before"), "change"),
    ("satisfaction_7d", N_("Satisfaction, 7 days"), "rate"),
    ("satisfaction_7d_change", N_("vs 7 days before"), "points"),
    ("last_loaded", N_("Last loaded day"), "text"), ("open_alerts", N_("Open alerts"), "count"),
]  # fmt: skip


def _change(figure: Figure, lang: Language) -> tuple[float | None, str]:
    """The figure against the period before (relative for a count, in points as a fraction for a rate), and why it
    is not known ("" when it is)."""
    delta = None if figure.value is None else change(figure.value, figure.previous, figure.kind == "rate")
    if delta is None:
        return None, figure.why if figure.value is None else change_text(figure, lang)
    return round(delta, 4), ""


def side_by_side(
    heads: dict[int, figures.Headline],
    labels: dict[int, str],
    days: pd.DataFrame,
    periods: pd.DataFrame,
    alerts: list[AlertRow],
    weeks: int,
    lang: Language,
) -> Compare:
    """Every company of the picker side by side (`labels`, in their order): the headline figures and their change,
    the last loaded day, the open alerts, and sessions per ISO week (the last `weeks`, a gap where a week is
    not wholly loaded). `why` says, per cell of `rows` (`COLUMNS`), why a figure is not known ("" when it is)."""
    weekly = figures.weekly(days, periods).groupby("company_id").tail(weeks)
    trends = weekly["sessions_count"].where(weekly["days_loaded"] == 7).groupby(weekly["company_id"])
    last_loaded = days[days["loaded"]].groupby("company_id")["date"].max().dt.strftime("%Y-%m-%d")
    firing = Counter(a.company_id for a in alerts if a.status == "firing")
    rows, why, trend = [], [], []
    for cid, label in labels.items():
        users, adoption, sessions, _, satisfaction = heads[cid].figures
        cells = [(cid, ""), (label, "")]
        for figure, with_change in ((users, True), (adoption, False), (sessions, True), (satisfaction, True)):
            cells.append((figure.value, figure.why if figure.value is None else ""))
            cells += [_change(figure, lang)] if with_change else []
        cells += [(last_loaded.get(cid, ""), ""), (int(firing.get(cid, 0)), "")]
        rows.append([value for value, _ in cells])
        why.append([reason for _, reason in cells])
        weekly_sessions = trends.get_group(cid) if cid in trends.groups else []
        trend.append([None if pd.isna(v) else round(float(v), 1) for v in weekly_sessions])
    return Compare(page_tables.column_specs(COLUMNS, lang), rows, why, trend)
