"""Faults injected through the simulator, each into a real ranged run over HTTP, on SQLite and PostgreSQL.

Transient faults: the run succeeds after retries and the table equals a clean run's. Permanent faults: the run
fails with one clear message (endpoint, date range, cause) and the table is exactly as it was before.
"""

from __future__ import annotations

from datetime import date

import pytest

from reporting_assets.simulator.faults import Fault
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import RAW_TABLES
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import assert_same_tables, failure_message, raw_assets, run, snapshot

START, END = "2025-03-01", "2025-03-20"  # three requests per endpoint: one day, then 10 + 9 (days_per_request=10)
ASSETS = {a.key.path[-1]: a for a in raw_assets}
ENDPOINT_OF = {"chat_feedbacks": "chats-feedback", "tools_usage": "tools", "chat_sessions": "chat-sessions"}


def _resources(simulator: RunningSimulator, warehouse: Warehouse, **overrides: object) -> dict:
    config = {"days_per_request": 10, "timeout_s": 2.0, **overrides}
    return {"paradigm": simulator.resource(**config), "warehouse": warehouse}


TRANSIENT = {
    "429_retry_after": Fault("status", status=429, retry_after=0.05, times=2),
    "500": Fault("status", status=500, times=2),
    "502": Fault("status", status=502, times=2),
    "503": Fault("status", status=503, times=2),
    "read_timeout": Fault("delay", delay_s=3.0, times=1),
    "connection_reset": Fault("drop", times=2),
}


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_transient_faults_are_retried_and_the_run_writes_what_a_clean_run_writes(
    name: str, simulator: RunningSimulator, warehouse: Warehouse, tmp_path
) -> None:
    asset = "chat_feedbacks"
    fault = TRANSIENT[name]
    simulator.sim.faults.add(Fault(**{**fault.__dict__, "endpoint": ENDPOINT_OF[asset], "after": 1}))
    result = run([ASSETS[asset]], _resources(simulator, warehouse), START, END)
    assert result.success, failure_message(result)
    assert simulator.requests(ENDPOINT_OF[asset]) == 3 + (fault.times or 0)  # each retry is one more request

    clean = Warehouse(url=f"sqlite:///{tmp_path / 'clean.db'}")
    simulator.sim.faults.clear()
    assert run([ASSETS[asset]], _resources(simulator, clean), START, END).success
    assert_same_tables(snapshot(warehouse, [asset]), snapshot(clean, [asset]))


PERMANENT = {
    "malformed_json": (Fault("malformed"), "not valid JSON"),
    # paradigm_api.md: optional fields may be missing (NULL); a missing date, company or key field fails.
    "missing_required_field": (Fault("missing_field", field="date"), "a 'dates' entry has no 'date'"),
    "wrong_type": (
        Fault("wrong_type", field="model_responses_count", value="many"),
        "'model_responses_count' has a value of the wrong type",
    ),
    "conflicting_duplicates": (
        Fault("duplicate_row", field="model_responses_count", value=999),
        "conflicting rows share one key",
    ),
    "401": (Fault("status", status=401), "the token was rejected (401)"),
    "403": (Fault("status", status=403), "(403)"),
}


@pytest.mark.parametrize("name", list(PERMANENT))
def test_permanent_faults_fail_with_one_clear_message_and_change_nothing(
    name: str, simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    asset, (fault, cause) = "chat_feedbacks", PERMANENT[name]
    assert run([ASSETS[asset]], _resources(simulator, warehouse), START, END).success
    before = snapshot(warehouse, [asset])
    simulator.sim.faults.add(Fault(**{**fault.__dict__, "endpoint": ENDPOINT_OF[asset], "after": 1}))
    requests_before = simulator.requests(ENDPOINT_OF[asset])

    result = run([ASSETS[asset]], _resources(simulator, warehouse), START, END)
    assert not result.success
    message = failure_message(result)
    assert "Paradigm /api/v2/reporting/chats-feedback/ for 2025-03-11..2025-03-20: " in message
    assert cause in message
    assert "Traceback" not in message and "\n" not in message.strip()
    assert simulator.requests(ENDPOINT_OF[asset]) - requests_before == 2  # no retry of a permanent fault
    assert_same_tables(before, snapshot(warehouse, [asset]))


def test_an_extra_unknown_field_is_stored_around_and_reported_as_drift(
    simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    simulator.sim.faults.add(Fault("extra_field", field="sentiment", value=0.7, times=None, endpoint="chats-feedback"))
    result = run([ASSETS["chat_feedbacks"]], _resources(simulator, warehouse), START, END)
    assert result.success
    [*_, last] = result.asset_materializations_for_node("chat_feedbacks")
    assert last.metadata["schema_drift"].value == "sentiment"
    assert "sentiment" not in warehouse.read(RAW_TABLES["chat_feedbacks"]).columns


def test_an_empty_day_replaces_that_days_rows_with_none(simulator: RunningSimulator, warehouse: Warehouse) -> None:
    asset = ASSETS["tools_usage"]
    assert run([asset], _resources(simulator, warehouse), START, END).success
    simulator.sim.faults.add(Fault("empty_day", value="2025-03-05", times=None, endpoint="tools"))
    assert run([asset], _resources(simulator, warehouse), START, END).success
    days = set(warehouse.read(RAW_TABLES["tools_usage"])["date"])
    assert date(2025, 3, 5) not in days and {date(2025, 3, 4), date(2025, 3, 6)} <= days


def test_exact_duplicate_rows_in_a_payload_are_stored_once(
    simulator: RunningSimulator, warehouse: Warehouse, tmp_path
) -> None:
    simulator.sim.faults.add(Fault("duplicate_row", times=None, endpoint="chats-feedback"))
    assert run([ASSETS["chat_feedbacks"]], _resources(simulator, warehouse), START, END).success
    simulator.sim.faults.clear()
    clean = Warehouse(url=f"sqlite:///{tmp_path / 'clean.db'}")
    assert run([ASSETS["chat_feedbacks"]], _resources(simulator, clean), START, END).success
    assert_same_tables(snapshot(warehouse, ["chat_feedbacks"]), snapshot(clean, ["chat_feedbacks"]))


def test_a_company_that_disappears_mid_range_keeps_the_days_it_was_reported(
    simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    asset = ASSETS["chat_sessions"]
    simulator.sim.faults.add(Fault("drop_company", value=102, after=1, times=None, endpoint="chat-sessions"))
    assert run([asset], _resources(simulator, warehouse), START, END).success
    rows = warehouse.read(RAW_TABLES["chat_sessions"])
    globex = set(rows.loc[rows["company_id"] == 102, "date"])
    assert globex and max(globex) <= date(2025, 3, 10)  # only the first request of the range had it
    assert max(rows.loc[rows["company_id"] == 101, "date"]) == date(2025, 3, 20)
