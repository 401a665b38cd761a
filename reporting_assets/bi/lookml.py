"""The Looker kit, generated from the registry: a LookML view per contract view, a model with an explore per fact
joined to its dimensions. Every measure aggregates as its field declares (`measures.py`): counts are `sum`
measures; rates divide summed parts; levels and people are never summed over days (a daily view's are defined on
one day, the period view's within one grain and period: its explore always filters one grain)."""

from __future__ import annotations

from reporting_assets.bi import measures
from reporting_assets.bi.contract import VIEWS, Field, View
from reporting_assets.custom_kpis.definition import KpiFile

CONNECTION = "paradigm_reporting"
MODEL = "paradigm_reporting"
LOOKER_TYPES = {"integer": "number", "bigint": "number", "float": "number", "text": "string", "boolean": "yesno"}
# fact -> the dimensions it joins (on company_id, and date where it has one)
EXPLORES = {
    "fct_daily_usage": ("dim_company", "dim_date"),
    "fct_tool_usage": ("dim_company", "dim_date"),
    "fct_document_usage": ("dim_company", "dim_date"),
    "fct_active_users": ("dim_company",),
    "fct_user_engagement": ("dim_company",),
    "fct_retention": ("dim_company",),
    "fct_custom_kpi": ("dim_company", "dim_date"),
}
KPI_FORMATS = {"percent": "percent_1", "number": "decimal_0", "decimal": "decimal_2"}  # a custom KPI's format


def _column(name: str) -> str:
    return f"${{TABLE}}.{name}"


def _items(v: View, field: Field, description: str) -> tuple[str, dict]:
    """(the LookML list it belongs to, its definition)."""
    described = {"name": field.name, "description": description}
    column = _column(field.name)
    if field.aggregation and measures.additive(v, field):
        return "measures", {**described, "type": "sum", "sql": column}
    if field.aggregation:
        fmt = {"fraction": "percent_1", "average": "decimal_2"}.get(field.unit or "", "decimal_0")
        sql = measures.sql(v, field, _column)
        return "measures", {**described, "type": "number", "sql": sql, "value_format_name": fmt}
    if field.type == "date" and v.periodic:  # a period's own day: grouped by as it is, never by a coarser one
        return "dimensions", {**described, "type": "date", "sql": column}
    if field.type == "date":
        group = {"type": "time", "timeframes": ["date", "week", "month", "quarter", "year"], "datatype": "date"}
        return "dimension_groups", {**described, **group, "sql": column}
    return "dimensions", {**described, "type": LOOKER_TYPES[field.type], "sql": column}


def view(v: View, schema: str, comments: dict[tuple[str, str], str] | None, kpis: KpiFile) -> dict:
    out: dict = {"name": v.name, "sql_table_name": f"{schema}.{v.name}", "description": v.description}
    for field in v.fields:
        kind, item = _items(v, field, (comments or {}).get((v.name, field.name), field.comment))
        out.setdefault(kind, []).append(item)
    if v.name == measures.KPI_VIEW:  # one measure per custom KPI (REPORTING_KPIS), aggregated from its parts
        out["measures"] += [
            {"name": f"kpi_{k.name}", "label": k.label_in("en"), "description": k.description or k.label_in("en"),
             "type": "number", "sql": measures.kpi_sql(k, _column), "value_format_name": KPI_FORMATS[k.format]}
            for k in kpis.kpis
        ]  # fmt: skip
    if v.name == "dim_company":  # the one a fact joins many-to-one
        out["dimensions"][0]["primary_key"] = "yes"
    return out


def model() -> dict:
    explores = []
    for fact, dims in EXPLORES.items():
        joins = []
        for dim in dims:
            on = "company_id" if dim == "dim_company" else "date_date"  # the day of the `date` dimension group
            join = {
                "type": "left_outer",
                "relationship": "many_to_one",
                "sql_on": f"${{{fact}.{on}}} = ${{{dim}.{on}}}",
            }
            joins.append({"name": dim, **join})
        explore = {"name": fact, "description": VIEWS[fact].description, "joins": joins}
        if VIEWS[fact].periodic:  # one grain at a time: periods of two grains never add up
            explore["always_filter"] = {"filters": [{f"{fact}.grain": "month"}]}
        explores.append(explore)
    return {"connection": CONNECTION, "includes": ["/views/*.view.lkml"], "explores": explores}


def files(schema: str, comments: dict[tuple[str, str], str] | None, kpis: KpiFile) -> dict[str, str]:
    """The kit's files by path: `views/<view>.view.lkml` and `<model>.model.lkml`, over `schema`'s views, each
    field described by its installed comment (`comments`, by view and column) or the registry, and a measure per
    KPI of `kpis` (REPORTING_KPIS) in `fct_custom_kpi`."""
    import lkml

    out = {f"views/{v.name}.view.lkml": lkml.dump({"views": [view(v, schema, comments, kpis)]}) for v in VIEWS.values()}
    out[f"{MODEL}.model.lkml"] = lkml.dump(model())
    return out
