"""Test helpers: run assets in-process on a throwaway Dagster instance, snapshot warehouse tables."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from dagster import AssetsDefinition, DagsterInstance, ExecuteInProcessResult, materialize

from reporting_assets.assets.kpis import build_kpi_assets
from reporting_assets.assets.partitions import build_partitions
from reporting_assets.assets.periods import build_period_asset
from reporting_assets.assets.raw import build_raw_assets
from reporting_assets.assets.schedules import RANGE_END_TAG, RANGE_START_TAG
from reporting_assets.settings import Settings
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import RAW_TABLES, load_log

# The assets as the code location builds them with the default settings (partitions from 2025-01-01).
PARTITIONS = build_partitions(Settings.model_fields["paradigm_start_date"].default)
MEMORY_BUDGET_MB = Settings.model_fields["reporting_memory_budget_mb"].default  # the setting's default
# Raw tables of daily activity: a past day's range fills them (company_members is only snapshotted for recent days,
# so runs over 2025 leave it out: tested on its own, with a fixed clock, in test_company_members.py).
ACTIVITY_TABLES = {name: table for name, table in RAW_TABLES.items() if name != "company_members"}
raw_assets = [a for a in build_raw_assets(PARTITIONS) if a.key.path[-1] in ACTIVITY_TABLES]
kpi_assets = [*build_kpi_assets(PARTITIONS, MEMORY_BUDGET_MB), build_period_asset(PARTITIONS, MEMORY_BUDGET_MB)]


def run(
    assets: Sequence[AssetsDefinition],
    resources: dict,
    start: str,
    end: str | None = None,
    instance: DagsterInstance | None = None,
) -> ExecuteInProcessResult:
    """Materialize one partition (`end` None) or the range `start..end` in a single run; never raises."""
    tags = {RANGE_START_TAG: start, RANGE_END_TAG: end} if end else None
    return materialize(
        assets,
        resources=resources,
        instance=instance or DagsterInstance.ephemeral(),
        partition_key=None if end else start,
        tags=tags,
        raise_on_error=False,
    )


def snapshot(warehouse: Warehouse, tables: Sequence[str] = tuple(RAW_TABLES)) -> dict[str, pd.DataFrame]:
    """Every row of each table, `ingested_at` aside, in key order, and the tables' days in the load ledger
    (with their row counts): equal snapshots mean equal tables and equal ledgers."""
    out = {name: warehouse.read(RAW_TABLES[name]).drop(columns="ingested_at") for name in tables}
    out["load_log"] = ledger_rows(warehouse, tables)
    return out


def ledger_rows(warehouse: Warehouse, assets: Sequence[str]) -> pd.DataFrame:
    """The ledger rows of `assets` (asset, date, company_scope, rows), sorted; when and by which run aside."""
    frame = warehouse.read(load_log, columns=["asset", "date", "company_scope", "rows"])
    frame = frame[frame["asset"].isin(list(assets))]
    return frame.sort_values(["asset", "date", "company_scope"], ignore_index=True)


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def failure_message(result: ExecuteInProcessResult) -> str:
    """The text of the first step failure, as the UI shows it."""
    [event] = [e for e in result.all_events if e.is_step_failure][:1]
    return str(event.step_failure_data.error.message)
