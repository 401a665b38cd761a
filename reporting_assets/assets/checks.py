"""Asset checks on every warehouse table, plus freshness checks on the raw assets read from the load ledger.

Each table check is one SQL aggregate over the whole table, so it stays cheap as history grows.
"""

from collections.abc import Callable, Iterator
from datetime import timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DefaultSensorStatus,
    MetadataValue,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    multi_asset_check,
    sensor,
)
from sqlalchemy import ColumnElement, Integer, Table, func, or_, select

from reporting_assets.alerts.freshness import Freshness
from reporting_assets.assets.metadata import preview
from reporting_assets.clock import Clock, utc_now
from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.ledger import covered
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, RAW_TABLES

SAMPLE_ROWS = 5
CONTINUITY_DAYS = 7


def _violations(warehouse: Warehouse, table: Table, condition: ColumnElement[bool]) -> AssetCheckResult:
    """Passes when no row matches `condition`; otherwise reports how many and a few of them."""
    with warehouse.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
        sample = pd.read_sql(select(table).where(condition).limit(SAMPLE_ROWS), conn) if count else None
    metadata = {"violations": count}
    if sample is not None:
        metadata["sample"] = MetadataValue.md(preview(sample))
    return AssetCheckResult(passed=count == 0, metadata=metadata)


def _keys_unique(warehouse: Warehouse, table: Table) -> AssetCheckResult:
    key = list(table.primary_key.columns)
    dupes = select(*key).group_by(*key).having(func.count() > 1).subquery()
    with warehouse.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(dupes)).scalar_one()
        sample = pd.read_sql(select(dupes).limit(SAMPLE_ROWS), conn) if count else None
    metadata = {"duplicated_keys": count}
    if sample is not None:
        metadata["sample"] = MetadataValue.md(preview(sample))
    return AssetCheckResult(passed=count == 0, metadata=metadata)


def _companies_continue(warehouse: Warehouse, table: Table) -> AssetCheckResult:
    """Over the latest loaded days: which company had rows one day and none the next loaded one (a possible
    ingestion gap). A next day that was not loaded is not a gap of the company: it is not known yet."""
    with warehouse.engine.connect() as conn:
        latest = conn.execute(select(func.max(table.c.date))).scalar_one()
        if latest is None:
            return AssetCheckResult(passed=True, metadata={"gaps": 0, "note": "table is empty"})
        since = latest - timedelta(days=CONTINUITY_DAYS)
        seen = pd.read_sql(select(table.c.date, table.c.company_id).distinct().where(table.c.date >= since), conn)
    loaded = warehouse.loaded([table.name], since, latest + timedelta(days=1))
    seen["date"] = pd.to_datetime(seen["date"]).dt.date
    nxt = pd.MultiIndex.from_arrays(
        [seen["company_id"], seen["date"] + timedelta(days=1)], names=["company_id", "date"]
    )
    present = nxt.isin(pd.MultiIndex.from_frame(seen[["company_id", "date"]]))
    gaps = sorted(
        (str(day), company)
        for (company, day), is_present, is_loaded in zip(nxt, present, covered(loaded, nxt), strict=True)
        if is_loaded and not is_present
    )
    return AssetCheckResult(
        passed=not gaps,
        severity=AssetCheckSeverity.WARN,
        metadata={"gaps": len(gaps), "missing (date, company_id)": ", ".join(map(str, gaps)) or "none"},
    )


CheckRule = Callable[[Warehouse], AssetCheckResult]


def _rules_for(table: Table) -> dict[str, tuple[str, CheckRule]]:
    """Check name -> (description, rule) for one table."""
    counts = [c for c in table.columns if isinstance(c.type, Integer) and not c.primary_key]
    rates = [c for c in table.columns if c.info.get("rate")]
    rules: dict[str, tuple[str, CheckRule]] = {
        "keys_unique": ("No two rows share a key.", lambda w: _keys_unique(w, table)),
        "counts_non_negative": ("Every count is >= 0.", lambda w: _violations(w, table, or_(*[c < 0 for c in counts]))),
        "companies_continue": (
            f"Warns when a company has rows on a day and none the next (last {CONTINUITY_DAYS} days).",
            lambda w: _companies_continue(w, table),
        ),
    }
    if rates:
        rules["rates_within_0_1"] = (
            "Every rate is NULL or within [0, 1].",
            lambda w: _violations(w, table, or_(*[(c < 0) | (c > 1) for c in rates])),
        )
    if {"likes_count", "dislikes_count", "model_responses_count"} <= set(table.c.keys()):
        rules["feedback_within_responses"] = (
            "likes + dislikes <= model responses.",
            lambda w: _violations(
                w, table, table.c.likes_count + table.c.dislikes_count > table.c.model_responses_count
            ),
        )
    return rules


RULES: dict[AssetCheckKey, tuple[str, CheckRule]] = {
    AssetCheckKey(AssetKey(table.name), name): rule
    for table in (*RAW_TABLES.values(), *KPI_TABLES.values())
    for name, rule in _rules_for(table).items()
}


def build_table_checks() -> list[AssetChecksDefinition]:
    """Every table's checks, in one step (each still runs, and shows, on its own): a step costs a process start of
    about 3 s under the multiprocess executor, which 29 separate checks would pay 29 times per run."""

    @multi_asset_check(
        name="table_checks",
        specs=[AssetCheckSpec(key.name, asset=key.asset_key, description=doc) for key, (doc, _) in RULES.items()],
        can_subset=True,
    )
    def table_checks(context: AssetCheckExecutionContext, warehouse: Warehouse) -> Iterator[AssetCheckResult]:
        for key in sorted(context.selected_asset_check_keys, key=str):
            r = RULES[key][1](warehouse)
            yield AssetCheckResult(
                asset_key=key.asset_key, check_name=key.name, passed=r.passed, severity=r.severity, metadata=r.metadata
            )

    return [table_checks]


SETUP = "nothing loaded yet: run a backfill or wait for daily_refresh"


def build_freshness(
    raw_assets: list[AssetsDefinition], late: Freshness, now: Clock = utc_now
) -> tuple[list[AssetChecksDefinition], SensorDefinition]:
    """A freshness check per raw asset, read from the load ledger like the `raw_data_late` alert (`late`):
    yesterday's day loaded by the deadline hour. An asset never loaded is being set up, not late: the check
    passes and says so. Its sensor runs the checks when the due day or a latest loaded day changes.

    Dagster's time-partition freshness checks judge materializations, which say nothing of what was loaded
    (a run whose company scope differs, a day purged), and fail on a new instance."""
    specs = [
        AssetCheckSpec(
            "freshness_check",
            asset=a.key,
            description=f"Yesterday is loaded by {late.hour_utc:02d}:00 UTC (warns when late; a never-loaded asset "
            "is being set up, not late)",
        )
        for a in raw_assets
    ]

    @multi_asset_check(specs=specs, can_subset=True, name="raw_freshness_checks")
    def freshness(context: AssetCheckExecutionContext, warehouse: Warehouse) -> Iterator[AssetCheckResult]:
        due = late.due(now())
        latest = ledger.latest(warehouse.engine, list(late.assets), late.company_scope)
        for key in context.selected_asset_check_keys:
            last = latest.get(key.asset_key.path[-1])
            if last is None:
                passed, text = True, SETUP
            elif due is None or last >= due:
                passed, text = True, f"loaded up to {last}"
            else:
                passed, text = False, f"{(due - last).days} day(s) not loaded, none since {last} (due {due})"
            yield AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=passed,
                severity=AssetCheckSeverity.WARN,
                description=text,
                metadata={"last_loaded_day": str(last or ""), "due_day": str(due or "")},
            )

    keys = [AssetCheckKey(a.key, "freshness_check") for a in raw_assets]

    @sensor(
        name="freshness_checks_sensor",
        target=AssetSelection.checks(*keys),
        minimum_interval_seconds=600,
        default_status=DefaultSensorStatus.RUNNING,
        description="Runs the raw assets' freshness checks when the day due or a latest loaded day changes.",
    )
    def freshness_sensor(context: SensorEvaluationContext, warehouse: Warehouse) -> SensorResult:
        latest = ledger.latest(warehouse.engine, list(late.assets), late.company_scope)
        state = f"{late.due(now())}:" + ",".join(str(latest[a]) for a in late.assets)
        request = RunRequest(run_key=f"freshness:{state}", asset_selection=[], asset_check_keys=keys)
        return SensorResult(run_requests=[request])

    return [freshness], freshness_sensor
