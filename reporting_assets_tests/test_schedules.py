"""The daily refresh schedule, evaluated with a fixed clock, and the run it requests executed for real."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dagster import DagsterInstance, DefaultScheduleStatus, build_schedule_context

from reporting_assets.assets.schedules import RANGE_END_TAG as ASSET_PARTITION_RANGE_END_TAG
from reporting_assets.assets.schedules import RANGE_START_TAG as ASSET_PARTITION_RANGE_START_TAG
from reporting_assets.definitions import build_definitions
from reporting_assets.settings import Settings
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, PERIOD_TABLES, RAW_TABLES, USER_TABLES, user_engagement
from reporting_assets_tests.conftest import RunningSimulator

TICK = datetime(2026, 3, 10, 6, tzinfo=UTC)  # the morning the tests' schedule ticks, and the runs' clock
defs = build_definitions(Settings.load(paradigm_base_url="demo"), now=lambda: TICK)
daily_refresh = defs.resolve_schedule_def("daily_refresh")


def test_each_morning_requests_yesterday_and_the_trailing_refetch_window() -> None:
    assert daily_refresh.cron_schedule == "0 6 * * *"
    assert daily_refresh.execution_timezone == "UTC"
    assert daily_refresh.default_status == DefaultScheduleStatus.RUNNING
    context = build_schedule_context(scheduled_execution_time=TICK)
    [request] = daily_refresh.evaluate_tick(context).run_requests
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == "2026-03-06"
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-03-09"
    assert request.run_key == "daily_refresh:2026-03-09"


def test_the_window_never_starts_before_the_first_partition() -> None:
    context = build_schedule_context(scheduled_execution_time=datetime(2025, 1, 3, 6, tzinfo=UTC))
    [request] = daily_refresh.evaluate_tick(context).run_requests
    assert (request.tags[ASSET_PARTITION_RANGE_START_TAG], request.tags[ASSET_PARTITION_RANGE_END_TAG]) == (
        "2025-01-01",
        "2025-01-02",
    )


def test_the_requested_run_refreshes_raw_and_kpi_tables_over_the_window(tmp_path, simulator: RunningSimulator) -> None:
    job = defs.resolve_job_def("daily_refresh")
    every = {*RAW_TABLES, *KPI_TABLES, *PERIOD_TABLES, *USER_TABLES}  # the per-user picture and people per period too
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == every
    context = build_schedule_context(scheduled_execution_time=TICK)
    [request] = daily_refresh.evaluate_tick(context).run_requests
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    result = job.execute_in_process(
        instance=DagsterInstance.ephemeral(),
        tags=request.tags,
        resources={"paradigm": simulator.resource(), "warehouse": warehouse},
    )
    assert result.success
    for table in [*RAW_TABLES.values(), *KPI_TABLES.values()]:  # members too: recent days on the morning after
        days = set(warehouse.read(table)["date"])
        assert days == {date(2026, 3, d) for d in range(6, 10)}, table.name
    # a first load: one day (rows per day unknown), then one window for the other days; the snapshot: one request
    assert sum(simulator.sim.requests.values()) == 2 * (len(RAW_TABLES) - 1) + 1
    assert set(warehouse.read(user_engagement)["as_of_date"]) == {date(2026, 3, 9)}


def test_the_hour_and_the_window_follow_the_settings() -> None:
    settings = Settings.load(paradigm_base_url="demo", reporting_refresh_hour_utc=4, reporting_refetch_days=0)
    schedule = build_definitions(settings).resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 4 * * *"
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 3, 10, 4, tzinfo=UTC))
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == request.tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-03-09"
