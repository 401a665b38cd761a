"""Per-user assets (`user_engagement`, `retention_cohorts`: the current picture, not partitioned) and the
`user_data_retention` job that deletes per-user rows older than `REPORTING_USER_RETENTION_DAYS`."""

from datetime import date, timedelta

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    BackfillPolicy,
    DefaultScheduleStatus,
    JobDefinition,
    MaterializeResult,
    MetadataValue,
    OpExecutionContext,
    ScheduleDefinition,
    asset,
    job,
    op,
)
from sqlalchemy import Table, func, select

from reporting_assets.assets.metadata import peak_rss_mb, table_metadata
from reporting_assets.clock import Clock, utc_now
from reporting_assets.lazy import pandas as pd
from reporting_assets.paradigm.resource import row_budget
from reporting_assets.users import engagement, privacy
from reporting_assets.warehouse import company_ranges
from reporting_assets.warehouse.company_ranges import Companies
from reporting_assets.warehouse.spool import Spool
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import retention_cohorts, user_activities, user_engagement

# After any newly loaded day of user_activities, whatever else of its history is missing (eager() would wait
# for every partition since PARADIGM_START_DATE).
AFTER_LOADS = AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())
NOTHING_LOADED = "user_activities has no loaded day yet: run a backfill or wait for daily_refresh"


def _spec(table: Table) -> dict:
    return {
        "name": table.name,
        "group_name": "paradigm_kpis",
        "deps": [user_activities.name],
        "automation_condition": AFTER_LOADS,
        # in the ranged runs of `group:paradigm_kpis` (the CLI wants every selected asset to take one run)
        "backfill_policy": BackfillPolicy.single_run(),
        "kinds": {"sql", "pandas"},
        "description": f"{table.comment}.\n\nTable `{table.name}`; see docs/users-and-privacy.md.",
        "metadata": table_metadata(table),
    }


def _loaded(warehouse: Warehouse) -> "pd.DataFrame | None":
    """The ledger days of user_activities; None before the first load (then what is stored stays as it is)."""
    ledger = warehouse.loaded([user_activities.name])
    return ledger if len(ledger) else None


def user_ranges(warehouse: Warehouse, as_of: date, budget: int) -> list[Companies]:
    """Ranges of companies whose users fit `budget` rows: users per company as the last `user_engagement`
    counted them, else those active in the 31 days up to `as_of`."""
    e, a = user_engagement, user_activities
    with warehouse.engine.connect() as conn:
        counts = conn.execute(select(e.c.company_id, func.count()).group_by(e.c.company_id)).all()
        if not counts:
            recent = a.c.date.between(as_of - timedelta(days=30), as_of)
            query = select(a.c.company_id, func.count(a.c.user_id.distinct())).where(recent)
            counts = conn.execute(query.group_by(a.c.company_id)).all()
    users = pd.DataFrame(counts, columns=["company_id", "users"], dtype="int64").set_index("company_id")["users"]
    return company_ranges.split(users.sort_index(), budget)


def build_user_assets(memory_budget_mb: int) -> list[AssetsDefinition]:
    """`user_engagement`, computed a range of companies at a time within `memory_budget_mb`
    (REPORTING_MEMORY_BUDGET_MB), and `retention_cohorts`, counted by the database (companies x months x months in
    memory): neither holds every user of the instance at once."""
    budget = row_budget(memory_budget_mb)

    @asset(**_spec(user_engagement))
    def user_engagement_asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        if (ledger := _loaded(warehouse)) is None:
            return MaterializeResult(metadata={"note": NOTHING_LOADED})
        as_of = max(ledger["date"])
        segments, companies = pd.Series(dtype="int64"), 0
        with Spool() as spool:
            for part in user_ranges(warehouse, as_of, budget):
                with warehouse.engine.connect() as conn:
                    frame = engagement.engagement(conn, ledger, as_of, part)
                spool.add(frame)
                counted = frame["segment"].fillna("not all loaded").value_counts()
                segments = segments.add(counted, fill_value=0)
                companies += frame["company_id"].nunique()
                del frame
            rows = warehouse.replace_where(user_engagement, spool)
        context.log.info("user_engagement as of %s: %d users", as_of, rows)
        return MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "as_of_date": str(as_of),
                "companies": companies,
                **{f"segment {name}": int(segments.get(name, 0)) for name, _ in engagement.SEGMENTS},
                "segment new": int(segments.get("new", 0)),
                "segment unknown (last 30 days not all loaded)": int(segments.get("not all loaded", 0)),
                "process_peak_rss_mb": peak_rss_mb(),
            }
        )

    @asset(**_spec(retention_cohorts))
    def retention_cohorts_asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        if (ledger := _loaded(warehouse)) is None:
            return MaterializeResult(metadata={"note": NOTHING_LOADED})
        as_of = max(ledger["date"])
        with warehouse.engine.connect() as conn:
            frame, frozen = engagement.cohorts(conn, ledger, as_of)
        # Cohorts of months with purged days keep what was computed before: their users cannot be counted again.
        where = retention_cohorts.c.cohort_month > frozen if frozen else None
        rows = warehouse.replace_where(retention_cohorts, frame, where)
        context.log.info("retention_cohorts as of %s: %d rows (cohorts up to %s kept as stored)", as_of, rows, frozen)
        return MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "as_of_date": str(as_of),
                "cohorts kept as stored (purged months)": str(frozen or "none"),
                "preview": MetadataValue.md(engagement.cohort_preview(frame)),
                "process_peak_rss_mb": peak_rss_mb(),
            }
        )

    return [user_engagement_asset, retention_cohorts_asset]


def build_retention(days: int | None, hour_utc: int, now: Clock = utc_now) -> tuple[JobDefinition, ScheduleDefinition]:
    """The `user_data_retention` job and its daily schedule (running only when `days` is set)."""

    @op(name="purge_per_user_rows")
    def purge(context: OpExecutionContext, warehouse: Warehouse) -> None:
        if days is None:
            context.log.info("REPORTING_USER_RETENTION_DAYS is unset: per-user rows are kept, nothing deleted")
            return
        moment = now()
        before = moment.date() - timedelta(days=days)
        deleted = privacy.purge(warehouse.engine, before, moment)
        context.log.info("per-user rows dated before %s (%d days): deleted %s", before, days, deleted)

    @job(
        name="user_data_retention",
        description="Deletes per-user rows older than REPORTING_USER_RETENTION_DAYS; aggregates stay.",
    )
    def retention() -> None:
        purge()

    schedule = ScheduleDefinition(
        name="user_data_retention",
        job=retention,
        cron_schedule=f"30 {hour_utc} * * *",
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING if days else DefaultScheduleStatus.STOPPED,
        description=f"Daily: per-user rows older than {days} days are deleted."
        if days
        else "Stopped: REPORTING_USER_RETENTION_DAYS is unset.",
    )
    return retention, schedule
