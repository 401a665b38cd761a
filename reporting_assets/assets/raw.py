"""One daily-partitioned asset per reporting endpoint, all made by one factory."""

from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    RetryPolicy,
    asset,
)

from reporting_assets.assets.metadata import column_schema, preview, report
from reporting_assets.assets.partitions import partition_dates
from reporting_assets.paradigm.endpoints import ENDPOINTS, Endpoint
from reporting_assets.paradigm.errors import ParadigmError, ParadigmUnavailable
from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse


def build_raw_asset(endpoint: Endpoint, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        name=endpoint.name,
        group_name="paradigm_raw",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool="paradigm_api",
        # The client already retried within seconds; an outage that outlasted that gets two more tries later.
        retry_policy=RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS),
        kinds={"sql", "pandas"},
        description=f"{endpoint.description}\n\nSource: `GET {endpoint.path}`; table `{endpoint.name}`.",
        metadata={
            "dagster/column_schema": column_schema(endpoint.table),
            "dagster/table_name": endpoint.name,
            "paradigm/endpoint": endpoint.path,
            "primary_key": ", ".join(endpoint.key),
        },
    )
    def _raw(context: AssetExecutionContext, paradigm: ParadigmResource, warehouse: Warehouse) -> MaterializeResult:
        start, end = partition_dates(context)
        try:
            fetched = paradigm.fetch(endpoint, start, end, log=context.log)
        except ParadigmError as exc:  # one clear message in the UI, not a traceback; retry only what may pass
            raise Failure(description=str(exc), allow_retries=isinstance(exc, ParadigmUnavailable)) from None
        now = datetime.now(UTC)
        frame = fetched.frame.assign(ingested_at=now)
        days = ledger.day_counts(frame, start, end, paradigm.company_id)
        loaded = ledger.entries(endpoint.name, days, context.run.run_id, now)
        warehouse.replace(endpoint.table, start, end, frame, paradigm.company_id, loaded)

        per_day = dict(zip(days["date"].map(str), days["rows"], strict=True))
        context.log.info(
            "%s %s..%s: %d rows, %d requests, %d companies",
            endpoint.name,
            start,
            end,
            len(frame),
            fetched.requests,
            frame["company_id"].nunique(),
        )
        run = {
            "run_rows": len(frame),
            "run_days": len(context.partition_keys),
            "api_requests": fetched.requests,
            "companies": int(frame["company_id"].nunique()),
            "schema_drift": ", ".join(fetched.drift) or "none",
            "dagster/column_schema": column_schema(endpoint.table, fetched.docs),
            "preview": MetadataValue.md(preview(frame.drop(columns="ingested_at"))),
        }
        per_partition = {
            key: {"loaded": True, "dagster/row_count": int(per_day[key])} for key in context.partition_keys
        }
        report(context, per_partition, run)
        return MaterializeResult()

    return _raw


def build_raw_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    return [build_raw_asset(e, partitions) for e in ENDPOINTS.values()]
