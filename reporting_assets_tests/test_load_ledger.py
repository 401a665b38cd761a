"""The load ledger on SQLite and PostgreSQL: written with the rows or not at all, replaced on re-run, derived
for a warehouse written before it existed; and a SQLite file that is complete without its WAL."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date

import pandas as pd
import pytest

from reporting_assets.simulator.faults import Fault
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse, WriteError
from reporting_assets.warehouse.tables import KPI_TABLES, load_log, used_documents
from reporting_assets_tests.helpers import ACTIVITY_TABLES, kpi_assets, ledger_rows, raw_assets, run, snapshot

DOCS = next(a for a in raw_assets if a.key.path == ["used_documents"])
QUIET = "2025-01-03"


def resources(simulator, warehouse, **paradigm) -> dict:
    return {"paradigm": simulator.resource(**paradigm), "warehouse": warehouse}


def test_every_day_of_a_run_is_in_the_ledger_with_its_rows_a_quiet_day_with_zero(simulator, warehouse):
    simulator.sim.faults.add(Fault("empty_day", endpoint="used-documents", value=QUIET, times=None))
    result = run([DOCS], resources(simulator, warehouse), "2025-01-01", "2025-01-05")
    assert result.success
    entries = warehouse.read(load_log)
    per_day = warehouse.read(used_documents).groupby("date").size()
    assert list(entries["date"]) == [date(2025, 1, d) for d in range(1, 6)]
    assert dict(zip(entries["date"], entries["rows"], strict=True)) == {d: per_day.get(d, 0) for d in entries["date"]}
    assert entries.loc[entries["date"] == date.fromisoformat(QUIET), "rows"].item() == 0
    assert set(entries["run_id"]) == {result.run_id} and entries["company_scope"].isna().all()
    assert set(entries["asset"]) == {"used_documents"}


def test_a_rerun_replaces_the_ledger_rows_of_its_days(simulator, warehouse):
    res = resources(simulator, warehouse)
    assert run([DOCS], res, "2025-01-01", "2025-01-05").success
    before = snapshot(warehouse, ["used_documents"])
    again = run([DOCS], res, "2025-01-02", "2025-01-04")
    assert again.success
    pd.testing.assert_frame_equal(before["load_log"], snapshot(warehouse, ["used_documents"])["load_log"])
    entries = warehouse.read(load_log)
    assert (entries["run_id"] == again.run_id).sum() == 3 and len(entries) == 5


def test_rows_and_ledger_are_written_together_or_not_at_all(simulator, warehouse):
    assert run([DOCS], resources(simulator, warehouse), "2025-01-01", "2025-01-05").success
    before = snapshot(warehouse, ["used_documents"])
    rows = warehouse.read(used_documents)
    days = ledger.day_counts(rows, date(2025, 1, 1), date(2025, 1, 5), None)
    clash = ledger.entries("used_documents", pd.concat([days, days.head(1)]), "broken")  # one day twice
    with pytest.raises(WriteError, match="refused rows of"):
        warehouse.replace(used_documents, date(2025, 1, 1), date(2025, 1, 5), rows.head(3), loaded=clash)
    after = snapshot(warehouse, ["used_documents"])
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)


def test_a_company_scoped_run_is_loaded_for_that_company_only(simulator, warehouse):
    res = resources(simulator, warehouse, company_id=101)
    assert run(raw_assets, res, "2025-01-01", "2025-01-10").success
    assert set(warehouse.read(load_log)["company_scope"]) == {101}
    assert run(kpi_assets, {"warehouse": warehouse}, "2025-01-10").success
    kpi = warehouse.read(KPI_TABLES["adoption_satisfaction"])
    assert list(kpi["company_id"]) == [101]
    computed = ledger_rows(warehouse, ["adoption_satisfaction"])
    assert computed[["date", "company_scope"]].values.tolist() == [[date(2025, 1, 10), 101]]


@pytest.fixture
def sqlite_warehouse(tmp_path) -> Warehouse:
    return Warehouse(url=f"sqlite:///{tmp_path / 'live' / 'reporting.db'}")


def test_a_copy_of_the_sqlite_file_without_its_wal_holds_every_row(simulator, sqlite_warehouse, tmp_path):
    res = resources(simulator, sqlite_warehouse)
    assert run([*raw_assets, *kpi_assets], res, "2025-01-01", "2025-01-20").success
    live = tmp_path / "live" / "reporting.db"
    assert live.with_name("reporting.db-wal").exists()  # WAL mode: a copy of the file alone was incomplete
    copy = tmp_path / "copy" / "reporting.db"
    copy.parent.mkdir()
    shutil.copyfile(live, copy)  # the file alone, as a user copies it to a BI machine
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as conn:
        for table in [*ACTIVITY_TABLES.values(), *KPI_TABLES.values(), load_log]:
            [(count,)] = conn.execute(f"SELECT count(*) FROM {table.name}").fetchall()
            assert count == sqlite_warehouse.count(table) > 0, table.name
