"""Each contract field's aggregate as SQL, from how the registry says it aggregates (`Field.kind`): the one
translation the SQL kits share (LookML's measures, Superset's metrics); Power BI's DAX says the same in its own
patterns (`powerbi.py`).

- count: SUM.
- rate: its numerator and denominator summed over the rows where every part is known, then divided.
- level and distinct, in a daily view: defined on one day only (NULL over several): a level by week or month is
  read on the period's last day, people per week or month are counted once, both in `fct_active_users`.
- in a period view (`fct_active_users`, `fct_group_activity`), every figure is defined within one grain and one
  period only.
- in a group view (`dim_group`, `fct_group_activity`), every figure is defined within one org attribute only: a
  person is in one group of each attribute, so figures add up over the groups of one attribute, never over
  attributes.
"""

from __future__ import annotations

from collections.abc import Callable

from reporting_assets.bi.contract import Field, View
from reporting_assets.custom_kpis.definition import CustomKpi

Column = Callable[[str], str]  # a column's name -> how the tool's SQL reaches it
GROUPED = "attribute"  # the org attribute of a group view


def _plain(name: str) -> str:
    return name


def guard(view: View, column: Column = _plain) -> str | None:
    """The condition under which the view's non-additive figures are defined in a group, or None (no limit)."""
    one = [f"COUNT(DISTINCT {column(GROUPED)}) = 1"] if GROUPED in view.names else []
    if view.periodic:
        one += [f"COUNT(DISTINCT {column('grain')}) = 1", f"COUNT(DISTINCT {column('period_start')}) = 1"]
    elif view.dated:
        one += [f"COUNT(DISTINCT {column('date')}) = 1"]
    return " AND ".join(one) or None


def additive(view: View, field: Field) -> bool:
    """A plain sum in every group: a count (of a view without org attributes), or a level or people of a view with
    neither days, periods nor attributes."""
    return field.ratio is None and GROUPED not in view.names and (field.kind == "count" or guard(view) is None)


def sql(view: View, field: Field, column: Column = _plain) -> str:
    """The field's aggregate over a group of the view's rows (`column` names each column as the tool's SQL does)."""
    if field.ratio:
        known = " AND ".join(f"{column(p)} IS NOT NULL" for p in field.ratio.parts)
        numerator = " + ".join(column(c) for c in field.ratio.numerator)
        denominator = " + ".join(column(c) for c in field.ratio.denominator)
        parts = (f"SUM(CASE WHEN {known} THEN {side} END)" for side in (numerator, denominator))
        value = "1.0 * {} / NULLIF({}, 0)".format(*parts)
        limit = guard(view, column) if view.periodic else None
    else:
        value = f"SUM({column(field.name)})"
        limit = None if additive(view, field) else guard(view, column)
    return f"CASE WHEN {limit} THEN {value} END" if limit else value


def kpi_sql(kpi: CustomKpi, column: Column = _plain) -> str:
    """A custom KPI's aggregate over a group of `fct_custom_kpi`'s rows: its sum, or its ratio's parts summed over
    the rows where both are known, then divided (never an average of daily values); over one day only when the
    denominator is a level or people (NULL over several: `fct_active_users` holds a period's people). Its name is
    a safe literal (`[a-z][a-z0-9_]*`, validated)."""
    mine = f"{column('kpi')} = '{kpi.name}'"
    if kpi.denominator is None:
        return f"SUM(CASE WHEN {mine} THEN {column('numerator')} END)"
    known = f"{mine} AND {column('numerator')} IS NOT NULL AND {column('denominator')} IS NOT NULL"
    numerator, denominator = (f"SUM(CASE WHEN {known} THEN {column(c)} END)" for c in ("numerator", "denominator"))
    value = f"1.0 * {numerator} / NULLIF({denominator}, 0)"
    return value if kpi.additive else f"CASE WHEN COUNT(DISTINCT {column('date')}) = 1 THEN {value} END"


KPI_VIEW = "fct_custom_kpi"  # the view the KPI measures aggregate
