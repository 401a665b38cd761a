"""Asset metadata shared by the raw and KPI assets: column schemas, previews, and per-partition reporting."""

from __future__ import annotations

import sys
from typing import Any

from dagster import AssetExecutionContext, TableColumn, TableSchema
from sqlalchemy import Table

from reporting_assets import personal
from reporting_assets.lazy import pandas as pd
from reporting_assets.neutralise import markdown_table

PREVIEW_ROWS = 10


def column_schema(table: Table, docs: dict[str, str] | None = None) -> TableSchema:
    """The table's columns for the UI; descriptions from the API's own metadata block when it gave one."""
    docs = docs or {}
    return TableSchema(
        columns=[
            TableColumn(c.name, str(c.type).lower(), description=docs.get(c.name) or c.comment or "")
            for c in table.columns
        ]
    )


def table_metadata(table: Table) -> dict[str, Any]:
    """What the UI shows of the asset's warehouse table: its columns, its name and its primary key."""
    return {
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": table.name,
        "primary_key": ", ".join(c.name for c in table.primary_key.columns),
    }


def preview(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first `rows` rows as a markdown table for the UI: API text escaped, per-user ids left out."""
    if not len(frame):
        return "_no rows_"
    return markdown_table(frame.head(rows).drop(columns=list(personal.USER_COLUMNS), errors="ignore"))


def report(context: AssetExecutionContext, per_partition: dict[str, dict[str, Any]], run: dict[str, Any]) -> None:
    """Each partition's own metadata on its event, and the run's (counts, schema, preview) on the last one only.

    A ranged run logs one materialization per partition; metadata returned in `MaterializeResult` would be
    copied into all of them (365 previews for a year), which costs more than the run's own work.
    """
    for key in context.partition_keys:
        context.add_asset_metadata(per_partition[key], partition_key=key)
    peak = {"process_peak_rss_mb": mb} if (mb := peak_rss_mb()) is not None else {}
    context.add_asset_metadata({**run, **peak}, partition_key=context.partition_keys[-1])


def peak_rss_mb() -> int | None:
    """The process's peak resident memory so far (MB): the step's own under the multiprocess executor, what
    REPORTING_MEMORY_BUDGET_MB bounds. None where the platform does not say (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1e6 if sys.platform == "darwin" else 1e3))  # bytes on macOS, KB on Linux
