"""A custom KPI over a period (a week, a month, the last 30 days) from its daily rows in `custom_kpis`, as the BI
contract aggregates: the numerator summed over the loaded days; the denominator summed when it is a sum, the
level of the period's last loaded day, or the period's distinct active users (counted once, never the sum of
the days'); the value recomputed from the two, never averaged."""

from __future__ import annotations

from reporting_assets.custom_kpis.definition import CustomKpi
from reporting_assets.lazy import pandas as pd

KEY = ["company_id", "t"]


def by_period(kpi: CustomKpi, rows: pd.DataFrame, people: pd.Series | None) -> pd.DataFrame:
    """Per (company_id, t) of `rows` (company_id, t: the period, date, numerator, denominator: one KPI's daily
    rows): numerator, denominator, value and `days` (its loaded days). `people`: (company_id, t) -> the period's
    distinct active users, for a KPI per active user over periods longer than a day (None: each period is one
    day, whose own denominator is its people)."""
    group = rows.sort_values("date", kind="stable").groupby(KEY)
    out = group["numerator"].sum().to_frame()
    out["days"] = group.size()
    kind = None if kpi.denominator is None else kpi.denominator.kind
    if kind is None:
        out["denominator"] = float("nan")
        out["value"] = out["numerator"]
        return out
    if kind == "level":
        out["denominator"] = group["denominator"].last()
    elif kind == "distinct" and people is not None:
        out["denominator"] = people.reindex(out.index).astype("float64")
    else:
        out["denominator"] = group["denominator"].sum()
    out["value"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    return out
