"""`company_members`: a daily snapshot of `GET /api/v2/reporting/users/`, taken for recent days only, and the
`adoption_rate` of `user_activity` it allows (NULL without a snapshot, never a reason to drop a row)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from reporting_assets.assets.raw import SNAPSHOT_MAX_AGE_DAYS, build_raw_asset
from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.simulator.data import DEFAULT_COMPANIES, members
from reporting_assets.simulator.faults import Fault
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import company_members, user_activity
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import (
    PARTITIONS,
    failure_message,
    kpi_assets,
    ledger_rows,
    raw_assets,
    run,
    snapshot,
)
from reporting_assets_tests.test_kpi_loaded_days import COMPANY, DAY, compute, frame, ledger_of, sessions, users

NOW = datetime(2026, 3, 10, 6, tzinfo=UTC)  # the runs' clock: no assertion depends on the day the suite runs
YESTERDAY = NOW.date() - timedelta(days=1)
CUTOFF = NOW.date() - timedelta(days=SNAPSHOT_MAX_AGE_DAYS)  # oldest day a fetch at NOW records
MEMBERS = build_raw_asset(ENDPOINTS["company_members"], PARTITIONS, now=lambda: NOW)
ASSETS = {a.key.path[-1]: a for a in [*raw_assets, MEMBERS, *kpi_assets]}


def _resources(simulator: RunningSimulator, warehouse: Warehouse) -> dict:
    return {"paradigm": simulator.resource(), "warehouse": warehouse}


def _days(start: date, end: date) -> list[date]:
    return [d.date() for d in pd.date_range(start, end)]


def test_a_range_records_todays_members_for_its_recent_days_and_adoption_follows(
    simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    start = YESTERDAY - timedelta(days=37)  # 30-day actives known from its 30th day: 2 of them before CUTOFF
    names = ["company_members", "user_activities", "chat_sessions", "user_activity"]
    result = run([ASSETS[n] for n in names], _resources(simulator, warehouse), str(start), str(YESTERDAY))
    assert result.success, failure_message(result)
    assert simulator.requests("users") == 1  # one request for the range: no per-date breakdown to window

    stored = warehouse.read(company_members)
    assert set(stored["date"]) == set(_days(CUTOFF, YESTERDAY))  # older days were not observed: no row
    for company in DEFAULT_COMPANIES:
        rows = stored[stored["company_id"] == company.id]
        expected = members(company, YESTERDAY)  # the simulator answers as of end_date
        assert set(rows["current_active_members"]) == {expected["current_active_members"]}
        assert set(rows["total_historical_members"]) == {expected["total_historical_members"]}
    assert set(ledger_rows(warehouse, ["company_members"])["date"]) == set(_days(CUTOFF, YESTERDAY))

    kpi = warehouse.read(user_activity).merge(stored, on=["date", "company_id"], how="left")
    assert len(kpi) == len(warehouse.read(user_activity))
    known = kpi["active_users_30d"].notna() & kpi["current_active_members"].notna()
    assert known.sum() == len(DEFAULT_COMPANIES) * SNAPSHOT_MAX_AGE_DAYS
    expected = kpi.loc[known, "active_users_30d"] / kpi.loc[known, "current_active_members"]
    assert (kpi.loc[known, "adoption_rate"] - expected).abs().max() < 1e-12
    assert kpi.loc[known, "adoption_rate"].between(0, 1).all()  # members >= the users the API reports
    # Before the first snapshot: the row is there with its other figures, adoption unknown
    older = kpi[kpi["current_active_members"].isna() & kpi["active_users_30d"].notna()]
    assert len(older) and older["adoption_rate"].isna().all()

    before = snapshot(warehouse, ["company_members"])
    assert run([ASSETS["company_members"]], _resources(simulator, warehouse), str(start), str(YESTERDAY)).success
    after = snapshot(warehouse, ["company_members"])
    pd.testing.assert_frame_equal(before["company_members"], after["company_members"])  # no duplicates


def test_a_range_of_old_days_asks_nothing_and_keeps_what_was_stored(simulator: RunningSimulator, tmp_path) -> None:
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}")
    recent = str(CUTOFF)
    assert run([ASSETS["company_members"]], _resources(simulator, warehouse), recent, str(YESTERDAY)).success
    kept = warehouse.read(company_members)
    old_start, old_end = CUTOFF - timedelta(days=40), CUTOFF - timedelta(days=1)
    result = run([ASSETS["company_members"]], _resources(simulator, warehouse), str(old_start), str(old_end))
    assert result.success
    assert simulator.requests("users") == 1  # only the first run asked
    pd.testing.assert_frame_equal(warehouse.read(company_members), kept)
    [event] = [e for e in result.get_asset_materialization_events() if e.partition == str(old_end)]
    assert event.materialization.metadata["loaded"].value is False


@pytest.mark.parametrize(
    ("fault", "cause"),
    [(Fault("status", status=401), "the token was rejected (401)"), (Fault("malformed"), "not valid JSON")],
    ids=["401", "malformed"],
)
def test_a_fault_of_the_members_endpoint_fails_with_one_clear_message(
    fault: Fault, cause: str, simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    simulator.sim.faults.add(Fault(**{**fault.__dict__, "endpoint": "users"}))
    result = run([ASSETS["company_members"]], _resources(simulator, warehouse), str(CUTOFF), str(YESTERDAY))
    assert not result.success
    message = failure_message(result)
    assert "/api/v2/reporting/users/" in message and str(CUTOFF) in message and cause in message
    assert warehouse.count(company_members) == 0


def _members(day: date, current: int | None) -> pd.DataFrame:
    rows = [] if current is None else [{"date": day, **COMPANY, "current_active_members": current}]
    return frame(company_members, rows)


@pytest.mark.parametrize(("current", "expected"), [(40, 0.25), (0, None), (None, None)], ids=["40", "zero", "unknown"])
def test_adoption_rate_is_30_day_actives_over_members_and_null_when_members_are_zero_or_unknown(
    current: int | None, expected: float | None
) -> None:
    days = _days(DAY - timedelta(days=29), DAY)
    out = compute(
        "user_activity",
        ledger_of(["user_activities", "chat_sessions"], days),
        user_activities=users(days, user_ids=tuple(range(1, 11))),
        chat_sessions=sessions([DAY]),
        company_members=_members(DAY, current),
    )
    [row] = out.to_dict("records")
    assert row["active_users_30d"] == 10
    assert (pd.isna(row["adoption_rate"]) and expected is None) or row["adoption_rate"] == expected
