"""The Apache Superset kit, generated from the registry: the ZIP of YAML that `superset import-dashboards` reads,
with the warehouse as a database reached as a contract reader (never its owner; SQL Lab off), a dataset per
contract view (its columns described as the registry says, a metric per figure aggregating as its field declares:
`measures.py`), and a dashboard of charts: active users per day and per month, members, adoption, sessions,
satisfaction, top tools, top documents and dormant users. A chart by week or month leaves out the period in
progress (a partial week is not a drop): a period not wholly loaded in the period view, the periods from the
current one on over days.

Identifiers are UUIDs derived from names, so importing a newer bundle updates the same objects."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime

import yaml

from reporting_assets.bi import measures
from reporting_assets.bi.contract import VIEWS, View
from reporting_assets.bi.views import SQL_TYPES
from reporting_assets.custom_kpis.definition import KpiFile

ROOT = "paradigm_reporting"
NAMESPACE = uuid.UUID("0d9a6a35-9a6f-4d8e-9c1e-6a1e5b0e2b27")
DASHBOARD_TITLE = "Paradigm usage"
Comments = dict[tuple[str, str], str]  # (view, column) -> description


def _uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True)
class Chart:
    name: str
    view: str
    viz_type: str
    metric: str  # a metric of the view's dataset (a field's name, or one of EXTRA_METRICS)
    grain: str | None = None  # a time series: its time grain (ISO 8601 duration) on the view's time column
    groupby: tuple[str, ...] = ()  # a table: its rows
    where: str = ""  # SQL filter
    row_limit: int = 10_000
    width: int = 6

    @property
    def time_column(self) -> str:
        return "period_start" if VIEWS[self.view].periodic else "date"


PERIODS = {"P1D": "day", "P1W": "week", "P1M": "month"}  # Superset's time grains, as the period view names them


def period_filter(chart: Chart) -> str:
    """The chart's SQL filter; in the period view, its grain's wholly loaded periods only (the period in progress
    is not wholly loaded)."""
    where = [chart.where] if chart.where else []
    if VIEWS[chart.view].periodic and chart.grain:
        where.append(f"grain = '{PERIODS[chart.grain]}' AND days_loaded = days_in_period")
    return " AND ".join(where)


def time_range(chart: Chart) -> str:
    """The chart's time range: by week or month over days, up to the start of the period in progress (Superset's
    own expression, evaluated at each query: custom SQL may not hold the subquery that would ask the ledger)."""
    if chart.grain in ("P1W", "P1M") and not VIEWS[chart.view].periodic:
        return f" : DATETRUNC(DATETIME('today'), {PERIODS[chart.grain].upper()})"
    return "No filter"


EXTRA_METRICS = {"fct_user_engagement": {"users": "COUNT(*)"}}
CHARTS = (
    Chart("Active users per day", "fct_daily_usage", "echarts_timeseries_line", "active_users", grain="P1D"),
    Chart("Active users per month", "fct_active_users", "echarts_timeseries_bar", "active_users", grain="P1M"),
    Chart("Members per month", "fct_active_users", "echarts_timeseries_line", "members", grain="P1M"),
    Chart("Adoption per month", "fct_active_users", "echarts_timeseries_line", "adoption_rate", grain="P1M"),
    Chart("Sessions per week", "fct_daily_usage", "echarts_timeseries_bar", "sessions_count", grain="P1W"),
    Chart("Satisfaction per month", "fct_daily_usage", "echarts_timeseries_line", "satisfaction_rate", grain="P1M"),
    Chart("Top tools", "fct_tool_usage", "table", "usage_count", groupby=("tool_name",), row_limit=10),
    Chart("Top documents", "fct_document_usage", "table", "usage_count", groupby=("document_title",), row_limit=10),
    Chart(
        "Dormant users per company", "fct_user_engagement", "table", "users", groupby=("company_id",),
        where="segment = 'dormant'",
    ),
)  # fmt: skip


KPI_D3 = {"percent": ".1%", "number": ",.0f", "decimal": ",.2f"}  # a custom KPI's format


def _kpi_metrics(kpis: KpiFile) -> list[dict]:
    """A metric per custom KPI (REPORTING_KPIS), aggregated from its parts (`measures.kpi_sql`)."""
    return [
        {"metric_name": f"kpi_{k.name}", "verbose_name": k.label_in("en"), "expression": measures.kpi_sql(k),
         "description": k.description or k.label_in("en"), "d3format": KPI_D3[k.format], "extra": {}}
        for k in kpis.kpis
    ]  # fmt: skip


def _dataset(v: View, database_uuid: str, schema: str | None, comments: Comments, kpis: KpiFile) -> dict:
    time_column = "period_start" if v.periodic else "date" if "date" in v.names else None
    metrics = [
        {
            "metric_name": f.name,
            "verbose_name": f.name.replace("_", " ").capitalize(),
            "expression": measures.sql(v, f),
            "description": comments.get((v.name, f.name), f.comment),
            "d3format": ".1%" if f.unit == "fraction" else (",.2f" if f.ratio else ",d"),
            "extra": {},
            "warning_text": None if measures.additive(v, f) or f.ratio else f.aggregation,
        }
        for f in v.fields
        if f.aggregation
    ]
    metrics += [
        {"metric_name": name, "expression": sql, "description": "Rows", "d3format": ",d", "extra": {}}
        for name, sql in EXTRA_METRICS.get(v.name, {}).items()
    ]
    if v.name == measures.KPI_VIEW:
        metrics += _kpi_metrics(kpis)
    columns = [
        {
            "column_name": f.name,
            "verbose_name": None,
            "is_dttm": f.type == "date",
            "is_active": True,
            "type": SQL_TYPES["postgresql"][f.type],
            "groupby": f.kind != "rate",
            "filterable": True,
            "expression": None,
            "description": comments.get((v.name, f.name), f.comment),
            "python_date_format": None,
            "extra": {},
        }
        for f in v.fields
    ]
    return {
        "table_name": v.name,
        "main_dttm_col": time_column,
        "description": f"{v.description} Grain: {v.grain}.",
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": schema,
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "uuid": _uuid("dataset", v.name),
        "metrics": metrics,
        "columns": columns,
        "version": "1.0.0",
        "database_uuid": database_uuid,
    }


def _filters(chart: Chart) -> list[dict]:
    where = period_filter(chart)
    sql = [{"clause": "WHERE", "expressionType": "SQL", "sqlExpression": where, "subject": None}] if where else []
    if not chart.grain:
        return sql
    when = {"operator": "TEMPORAL_RANGE", "comparator": time_range(chart), "subject": chart.time_column}
    return [*sql, {"clause": "WHERE", "expressionType": "SIMPLE", **when}]


def query(chart: Chart) -> dict:
    """The chart's query as `/api/v1/chart/data` takes it (its datasource set by the import)."""
    where, time = period_filter(chart), chart.time_column
    if chart.grain:
        columns: list = [
            {
                "timeGrain": chart.grain,
                "columnType": "BASE_AXIS",
                "sqlExpression": time,
                "label": time,
                "expressionType": "SQL",
            }
        ]
        orderby = [[time, True]]  # type: ignore[list-item]
    else:
        columns = list(chart.groupby)
        orderby = [[chart.metric, False]]
    filters = [{"col": time, "op": "TEMPORAL_RANGE", "val": time_range(chart)}] if chart.grain else []
    return {
        "filters": filters,
        "extras": {"having": "", "where": f"({where})" if where else ""},
        "applied_time_extras": {},
        "columns": columns,
        "metrics": [chart.metric],
        "orderby": orderby,
        "annotation_layers": [],
        "row_limit": chart.row_limit,
        "series_limit": 0,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }


def _params(chart: Chart) -> dict:
    params = {
        "datasource": "1__table",  # the import sets the dataset's own
        "viz_type": chart.viz_type,
        "metrics": [chart.metric],
        "adhoc_filters": _filters(chart),
        "row_limit": chart.row_limit,
    }
    if chart.grain:
        params |= {"x_axis": chart.time_column, "time_grain_sqla": chart.grain, "groupby": [], "rich_tooltip": True}
    else:
        params |= {"groupby": list(chart.groupby), "query_mode": "aggregate", "order_desc": True}
        params |= {"timeseries_limit_metric": chart.metric}
    return params


def _chart(chart: Chart) -> dict:
    params = _params(chart)
    context = {
        "datasource": {"id": 1, "type": "table"},
        "force": False,
        "queries": [query(chart)],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }
    return {
        "slice_name": chart.name,
        "description": None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart.viz_type,
        "params": params,
        "query_context": json.dumps(context),
        "cache_timeout": None,
        "uuid": _uuid("chart", chart.name),
        "version": "1.0.0",
        "dataset_uuid": _uuid("dataset", chart.view),
    }


def _dashboard() -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": DASHBOARD_TITLE}},
    }
    for i in range(0, len(CHARTS), 2):
        row = f"ROW-{i // 2}"
        position["GRID_ID"]["children"].append(row)
        position[row] = {
            "type": "ROW",
            "id": row,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for j, chart in enumerate(CHARTS[i : i + 2]):
            key = f"CHART-{i + j}"
            position[row]["children"].append(key)
            meta = {"width": chart.width, "height": 50, "chartId": i + j + 1, "sliceName": chart.name}
            position[key] = {
                "type": "CHART",
                "id": key,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row],
                "meta": {**meta, "uuid": _uuid("chart", chart.name)},
            }
    return {
        "dashboard_title": DASHBOARD_TITLE,
        "description": None,
        "css": "",
        "slug": "paradigm-usage",
        "uuid": _uuid("dashboard", DASHBOARD_TITLE),
        "position": position,
        "metadata": {"color_scheme": "supersetColors", "refresh_frequency": 0, "expanded_slices": {}},
        "version": "1.0.0",
        "published": True,
    }


def bundle(
    database_uri: str, schema: str | None, now: datetime, user_lists: bool, comments: Comments | None, kpis: KpiFile
) -> bytes:
    """The ZIP for `superset import-dashboards -p FILE`: the warehouse at `database_uri` (as Superset's driver
    spells it, as a reader's role; give no password: set it in Superset), the contract's views in `schema`, each
    column described by its installed comment (`comments`, by view and column) or the registry."""
    database_uuid = _uuid("database", ROOT)
    files = {
        "metadata.yaml": {"version": "1.0.0", "type": "Dashboard", "timestamp": now.isoformat()},
        f"databases/{ROOT}.yaml": {
            "database_name": "Paradigm reporting",
            "sqlalchemy_uri": database_uri,
            "cache_timeout": None,
            "expose_in_sqllab": False,  # SQL Lab would go around the contract's datasets
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_csv_upload": False,
            "extra": {},
            "uuid": database_uuid,
            "version": "1.0.0",
        },
    }
    views = [v for v in VIEWS.values() if user_lists or not v.per_user]
    for v in views:
        files[f"datasets/{ROOT}/{v.name}.yaml"] = _dataset(v, database_uuid, schema, comments or {}, kpis)
    for chart in CHARTS:
        if chart.view in {v.name for v in views}:
            files[f"charts/{chart.name.replace(' ', '_')}.yaml"] = _chart(chart)
    files[f"dashboards/{DASHBOARD_TITLE.replace(' ', '_')}.yaml"] = _dashboard()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{ROOT}/{name}", yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
    return out.getvalue()
