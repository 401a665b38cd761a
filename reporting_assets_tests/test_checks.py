"""Asset checks pass on good data and fail, visibly, on bad rows written straight into the warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    build_sensor_context,
    materialize,
)
from sqlalchemy import Column, MetaData, Table, create_engine

from reporting_assets.alerts.freshness import Freshness
from reporting_assets.assets.checks import build_freshness, build_table_checks
from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.warehouse import tables
from reporting_assets.warehouse.store import Warehouse
from reporting_assets_tests.helpers import ACTIVITY_TABLES, kpi_assets, raw_assets, run

CHECKED_AT = datetime(2025, 1, 20, 10, tzinfo=UTC)  # past the 09:00 deadline of 2025-01-19
LATE = Freshness(assets=tuple(ACTIVITY_TABLES), hour_utc=9, first_day=date(2025, 1, 1))
freshness_checks, freshness_sensor = build_freshness(raw_assets, LATE, now=lambda: CHECKED_AT)
ALL = [*raw_assets, *kpi_assets, *build_table_checks(), *freshness_checks]
NOW = datetime(2025, 1, 10, tzinfo=UTC)


def check_results(warehouse: Warehouse, instance: DagsterInstance | None = None) -> dict[tuple[str, str], object]:
    """Run every asset check (no asset) against `warehouse`; results by (asset, check name)."""
    result = materialize(
        ALL,
        resources={"warehouse": warehouse, "paradigm": ParadigmResource(base_url="demo")},
        selection=AssetSelection.all_asset_checks(),
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def test_every_check_passes_on_simulated_data_but_continuity_warns_on_weekends(simulator, tmp_path):
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}")
    res = {"paradigm": simulator.resource(), "warehouse": warehouse}
    assert run([*raw_assets, *kpi_assets], res, "2025-01-06", "2025-01-11").success  # Mon..Sat
    results = check_results(warehouse)
    failed = {key for key, e in results.items() if not e.passed and e.check_name != "freshness_check"}
    # Initech (103) takes weekends off: tables of daily activity show a gap on Saturday, a warning, nothing more;
    # the rolling KPI tables keep a row (zeros) for a company active within their window
    daily = [*ACTIVITY_TABLES, "resource_usage"]
    assert failed == {(name, "companies_continue") for name in daily}
    for name in daily:
        warning = results[(name, "companies_continue")]
        assert warning.severity == AssetCheckSeverity.WARN
        assert "('2025-01-11', 103)" in warning.metadata["missing (date, company_id)"].value


def test_a_day_that_was_not_loaded_is_not_a_gap_of_every_company(simulator, tmp_path):
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}")
    res = {"paradigm": simulator.resource(), "warehouse": warehouse}
    assert run(raw_assets, res, "2025-01-06", "2025-01-07").success  # Mon, Tue
    assert run(raw_assets, res, "2025-01-09", "2025-01-10").success  # Thu, Fri: Wednesday never loaded
    results = check_results(warehouse)
    for name in tables.RAW_TABLES:
        assert results[(name, "companies_continue")].passed, results[(name, "companies_continue")].metadata


def test_duplicate_keys_negative_counts_and_impossible_feedback_fail(tmp_path):
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    engine = create_engine(url)
    # made without its primary key, as a table created by hand or by an older version could be
    loose = Table("chat_feedbacks", MetaData(), *[Column(c.name, c.type) for c in tables.chat_feedbacks.columns])
    loose.create(engine)
    day = date(2025, 1, 6)
    row = {
        "date": day,
        "company_id": 1,
        "company_name": "A",
        "ingested_at": NOW,
        "model_responses_count": 10,
        "likes_count": 3,
        "dislikes_count": 1,
        "copies_count": 0,
    }
    with engine.begin() as conn:
        conn.execute(
            loose.insert(),
            [row, row, {**row, "company_id": 2, "copies_count": -1}, {**row, "company_id": 3, "likes_count": 20}],
        )
    engine.dispose()
    results = check_results(Warehouse(url=url))
    assert not results[("chat_feedbacks", "keys_unique")].passed
    assert results[("chat_feedbacks", "keys_unique")].metadata["duplicated_keys"].value == 1
    assert not results[("chat_feedbacks", "counts_non_negative")].passed
    assert results[("chat_feedbacks", "counts_non_negative")].metadata["violations"].value == 1
    assert not results[("chat_feedbacks", "feedback_within_responses")].passed
    assert results[("chat_feedbacks", "feedback_within_responses")].metadata["violations"].value == 1
    assert results[("chat_feedbacks", "keys_unique")].severity == AssetCheckSeverity.ERROR


def test_a_rate_outside_0_1_fails(warehouse):
    frame = pd.DataFrame(
        [
            {
                "date": date(2025, 1, 6),
                "company_id": 1,
                "company_name": "A",
                "sessions_count": 1,
                "user_queries_count": 1,
                "model_responses_count": 1,
                "likes_count": 1,
                "dislikes_count": 0,
                "copies_count": 0,
                "feedback_rate": 1.0,
                "satisfaction_rate": 1.5,
                "queries_per_session": 7.0,
                "sessions_7d": 1,
                "satisfaction_rate_7d": 1.0,
            }
        ]
    )
    warehouse.replace(tables.adoption_satisfaction, date(2025, 1, 6), date(2025, 1, 6), frame)
    results = check_results(warehouse)
    assert not results[("adoption_satisfaction", "rates_within_0_1")].passed
    assert results[("adoption_satisfaction", "counts_non_negative")].passed  # queries_per_session 7 is no rate


@pytest.mark.parametrize(
    ("loaded", "passed", "says"),
    [
        (None, True, "nothing loaded yet: run a backfill or wait for daily_refresh"),
        (("2025-01-17", "2025-01-19"), True, "loaded up to 2025-01-19"),
        (("2025-01-15", "2025-01-17"), False, "2 day(s) not loaded, none since 2025-01-17 (due 2025-01-19)"),
    ],
    ids=["setup", "fresh", "late"],
)
def test_freshness_reads_the_ledger_and_a_new_instance_is_being_set_up_not_late(
    simulator, tmp_path, loaded, passed, says
):
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}")
    if loaded:
        assert run(raw_assets, {"paradigm": simulator.resource(), "warehouse": warehouse}, *loaded).success
    results = check_results(warehouse)
    for name in ACTIVITY_TABLES:
        result = results[(name, "freshness_check")]
        assert (result.passed, result.description) == (passed, says), name


def test_the_freshness_sensor_runs_the_checks_again_when_a_day_is_loaded(simulator, tmp_path):
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}")
    instance = DagsterInstance.ephemeral()

    def tick():
        context = build_sensor_context(instance=instance, resources={"warehouse": warehouse})
        [request] = freshness_sensor(context).run_requests
        return request

    first, again = tick(), tick()
    assert first.run_key == again.run_key  # nothing changed: the same run key, launched once by the daemon
    assert {k.name for k in first.asset_check_keys} == {"freshness_check"} and len(first.asset_check_keys) == 5
    assert run(raw_assets, {"paradigm": simulator.resource(), "warehouse": warehouse}, "2025-01-19").success
    assert tick().run_key != first.run_key


def test_one_check_runs_alone(tmp_path):
    """All table checks share one step, yet the UI can still run a single one."""
    key = AssetCheckKey(AssetKey("tools_usage"), "keys_unique")
    result = materialize(
        ALL,
        resources={
            "warehouse": Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}"),
            "paradigm": ParadigmResource(base_url="demo"),
        },
        selection=AssetSelection.checks(key),
        instance=DagsterInstance.ephemeral(),
    )
    assert [(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()] == [(key.asset_key, key.name)]
