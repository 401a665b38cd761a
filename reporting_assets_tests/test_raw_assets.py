"""The five raw assets end to end: simulator over HTTP -> Dagster run -> SQLite and PostgreSQL warehouse."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.simulator.faults import Fault
from reporting_assets_tests.conftest import TOKEN
from reporting_assets_tests.helpers import (
    ACTIVITY_TABLES,
    assert_same_tables,
    failure_message,
    raw_assets,
    run,
    snapshot,
)

DOCS = next(a for a in raw_assets if a.key.path == ["used_documents"])


def resources(simulator, warehouse, **paradigm):
    return {"paradigm": simulator.resource(**paradigm), "warehouse": warehouse}


def test_reruns_of_a_range_and_of_a_day_give_identical_tables(simulator, warehouse):
    res = resources(simulator, warehouse)
    assert run(raw_assets, res, "2025-01-01", "2025-01-20").success
    first = snapshot(warehouse)
    assert all(len(first[name]) for name in ACTIVITY_TABLES)
    assert run(raw_assets, res, "2025-01-01", "2025-01-20").success
    assert_same_tables(first, snapshot(warehouse))
    for _ in range(2):
        assert run(raw_assets, res, "2025-01-10").success
        assert_same_tables(first, snapshot(warehouse))


def test_single_day_runs_and_one_ranged_run_write_the_same_rows(simulator, warehouse, tmp_path):
    from reporting_assets.warehouse.store import Warehouse

    other = Warehouse(url=f"sqlite:///{tmp_path / 'by_day.db'}")
    assert run(raw_assets, resources(simulator, warehouse), "2025-02-01", "2025-02-05").success
    for day in range(1, 6):
        assert run(raw_assets, resources(simulator, other), f"2025-02-0{day}").success
    assert_same_tables(snapshot(warehouse), snapshot(other))


def test_a_90_day_range_takes_a_day_then_3_windows_per_endpoint_and_reports_rows_per_day(simulator, warehouse):
    result = run(raw_assets, resources(simulator, warehouse), "2025-01-01", "2025-03-31")
    assert result.success
    for endpoint in ENDPOINTS.values():  # rows per day unknown: one day first, then windows sized by it (31 days)
        assert simulator.requests(endpoint.slug) <= 4
    mats = result.asset_materializations_for_node("used_documents")
    assert len(mats) == 90
    per_day = snapshot(warehouse, ["used_documents"])["used_documents"].groupby("date").size()
    by_partition = {m.partition: m.metadata["dagster/row_count"].value for m in mats}
    assert sum(by_partition.values()) == per_day.sum()
    assert all(by_partition[str(day)] == n for day, n in per_day.items())
    # the run's own figures go on its last partition only, not copied into all 90 events
    last = next(m for m in mats if m.partition == "2025-03-31")
    assert last.metadata["api_requests"].value == 4 and last.metadata["request_windows"].value == "1, 31 x 2, 27"
    assert last.metadata["companies"].value == 3
    assert all("api_requests" not in m.metadata for m in mats if m is not last)


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ({"kind": "malformed"}, "not valid JSON"),
        ({"kind": "missing_field", "field": "document_id"}, "required field 'document_id' is missing"),
        (
            {"kind": "wrong_type", "field": "usage_count", "value": "lots"},
            "'usage_count' has a value of the wrong type",
        ),
    ],
)
def test_a_bad_payload_fails_the_run_clearly_and_leaves_the_table_as_it_was(simulator, warehouse, fault, cause):
    res = resources(simulator, warehouse)
    assert run([DOCS], res, "2025-01-01", "2025-03-31").success
    before = snapshot(warehouse, ["used_documents"])
    # the first 31-day chunk is fine, the second one is broken
    simulator.sim.faults.add(Fault(**fault, endpoint="used-documents", after=1))
    result = run([DOCS], res, "2025-01-01", "2025-03-31")
    assert not result.success
    message = failure_message(result)
    assert "/api/v2/reporting/used-documents/ for 2025-02-01..2025-03-03" in message
    assert cause in message
    assert_same_tables(before, snapshot(warehouse, ["used_documents"]))


def test_unknown_fields_are_listed_as_schema_drift(simulator, warehouse):
    simulator.sim.faults.add(Fault("extra_field", endpoint="used-documents", field="confidentiality", value="high"))
    result = run([DOCS], resources(simulator, warehouse), "2025-01-06")
    assert result.success
    [mat] = result.asset_materializations_for_node("used_documents")
    assert mat.metadata["schema_drift"].value == "confidentiality"


def test_company_scope_replaces_only_that_companys_rows(simulator, warehouse):
    assert run([DOCS], resources(simulator, warehouse), "2025-01-06").success
    before = snapshot(warehouse, ["used_documents"])["used_documents"]
    simulator.sim.faults.add(Fault("extra_field", endpoint="used-documents", field="usage_count", value=99))
    assert run([DOCS], resources(simulator, warehouse, company_id=101), "2025-01-06").success
    after = snapshot(warehouse, ["used_documents"])["used_documents"]
    assert (after[after.company_id == 101].usage_count == 99).all()
    others = before[before.company_id != 101].reset_index(drop=True)
    assert after[after.company_id != 101].reset_index(drop=True).equals(others)


def _all_text(instance: DagsterInstance, run_id: str) -> str:
    return "\n".join(repr(entry) for entry in instance.all_logs(run_id))


def test_the_token_never_appears_in_logs_metadata_or_errors(simulator, warehouse):
    with DagsterInstance.ephemeral() as instance:
        simulator.sim.faults.add(Fault("status", status=429, retry_after=0))
        ok = run(raw_assets, resources(simulator, warehouse), "2025-01-06", instance=instance)
        assert ok.success
        assert TOKEN not in _all_text(instance, ok.run_id)

        bad_token = "bad-token-0d6a4c2e"
        failed = run([DOCS], resources(simulator, warehouse, api_key=bad_token), "2025-01-06", instance=instance)
        assert not failed.success
        message = failure_message(failed)
        assert "/api/v2/reporting/used-documents/" in message and "token was rejected" in message
        text = _all_text(instance, failed.run_id)
        assert "token was rejected" in text  # the scan does see the failure text
        assert bad_token not in text and TOKEN not in text
