"""The Power BI kit, generated from the registry: one DAX measure per figure, aggregating as its field declares
(`Field.kind`), for a model over the contract's views (DirectQuery or import) where each view's `date` is related
to `dim_date[date]` and `company_id` to `dim_company[company_id]`:

- count: SUM;
- rate: DIVIDE of its parts summed over the rows where every part is known (never an average of daily rates);
- level, in a daily view: semi-additive, each company's value on the last day of the period with one
  (LASTNONBLANK over dim_date), summed over companies;
- distinct, in a daily view: defined on one day only (people per week or month: `fct_active_users`);
- every figure of a period view (`fct_active_users`, `fct_group_activity`): defined within one grain and one
  period only;
- every figure of a group view (`dim_group`, `fct_group_activity`): defined within one org attribute only (a
  person is in one group of each attribute, so attributes never add up)."""

from __future__ import annotations

from collections import Counter

from reporting_assets.bi.contract import VIEWS, Field, View
from reporting_assets.bi.measures import GROUPED, KPI_VIEW
from reporting_assets.custom_kpis.definition import CustomKpi, KpiFile

# A model's measure names are unique: a name two views share says which view it aggregates
_SHARED = {n for n, k in Counter(f.name for v in VIEWS.values() for f in v.fields if f.aggregation).items() if k > 1}


def _name(view: View, f: Field) -> str:
    name = f.name.replace("_", " ").capitalize()
    return f"{name} ({view.name})" if f.name in _SHARED else name


def _col(view: View, column: str) -> str:
    return f"'{view.name}'[{column}]"


def _sum(view: View, column: str) -> str:
    return f"SUM({_col(view, column)})"


def _rate(view: View, f: Field) -> str:
    if not f.ratio:
        raise ValueError(f"{view.name}.{f.name} is not a rate")
    known = " && ".join(f"NOT ISBLANK({_col(view, p)})" for p in f.ratio.parts)
    numerator = " + ".join(_col(view, c) for c in f.ratio.numerator)
    denominator = " + ".join(_col(view, c) for c in f.ratio.denominator)
    return (
        f"VAR known = FILTER('{view.name}', {known}) "
        f"RETURN DIVIDE(SUMX(known, {numerator}), SUMX(known, {denominator}))"
    )


def expression(view: View, f: Field) -> str:
    """The measure's DAX, from the field's kind and the view's shape: within one org attribute in a group view,
    one grain and one period in a period view."""
    one = ([GROUPED] if GROUPED in view.names else []) + (["grain", "period_start"] if view.periodic else [])
    if not one:
        return _value(view, f)
    return f"IF({' && '.join(f'HASONEVALUE({_col(view, c)})' for c in one)}, {_value(view, f)})"


def _value(view: View, f: Field) -> str:
    if f.ratio:
        return _rate(view, f)
    if f.kind == "level" and view.dated:
        last = f"LASTNONBLANK('dim_date'[date], CALCULATE({_sum(view, f.name)}))"
        return f"SUMX(VALUES({_col(view, 'company_id')}), CALCULATE({_sum(view, f.name)}, {last}))"
    if f.kind == "distinct" and view.dated:
        return f"IF(HASONEVALUE({_col(view, 'date')}), {_sum(view, f.name)})"
    return _sum(view, f.name)


def measure(view: View, f: Field) -> str:
    """`Name = expression`, as Power BI's "New measure" takes it."""
    return f"{_name(view, f)} = {expression(view, f)}"


def kpi_measure(kpi: CustomKpi) -> str:
    """A custom KPI's measure, named as the KPI: its rows' numerators summed, divided by their denominators for
    a ratio (over the rows where both are known); on one day only when the denominator is a level or people."""
    view = VIEWS[KPI_VIEW]
    mine = f'{_col(view, "kpi")} = "{kpi.name}"'
    if kpi.denominator is None:
        return f"{kpi.name} = CALCULATE({_sum(view, 'numerator')}, {mine})"
    known = f"{mine} && NOT ISBLANK({_col(view, 'numerator')}) && NOT ISBLANK({_col(view, 'denominator')})"
    value = f"DIVIDE(SUMX(known, {_col(view, 'numerator')}), SUMX(known, {_col(view, 'denominator')}))"
    value = value if kpi.additive else f"IF(HASONEVALUE({_col(view, 'date')}), {value})"
    return f"{kpi.name} = VAR known = FILTER('{view.name}', {known}) RETURN {value}"


def measures(kpis: KpiFile) -> str:
    """Every measure, grouped by the table (view) it belongs to; a measure per KPI of `kpis` (REPORTING_KPIS)."""
    blocks = []
    for view in VIEWS.values():
        lines = [measure(view, f) for f in view.fields if f.aggregation]
        if view.name == KPI_VIEW:
            lines += [kpi_measure(k) for k in kpis.kpis]
        if lines:
            blocks.append("\n".join([f"// table {view.name}", *lines]))
    return "\n\n".join(blocks) + "\n"
