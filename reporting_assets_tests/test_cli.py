"""The contract's headless backfill command works against the simulator over HTTP."""

from __future__ import annotations

import subprocess

import pytest

from reporting_assets.warehouse.store import Warehouse
from reporting_assets_tests.conftest import TOKEN
from reporting_assets_tests.helpers import ACTIVITY_TABLES
from reporting_assets_tests.processes import instance_env, materialize_command

pytestmark = pytest.mark.slow(minutes=1)


def test_dagster_asset_materialize_with_a_partition_range(simulator, tmp_path):
    env = instance_env(tmp_path, simulator)
    proc = subprocess.run(
        materialize_command("2025-01-01", "2025-01-10"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert TOKEN not in output
    warehouse = Warehouse(url=env["REPORTING_DATABASE_URL"])
    for table in ACTIVITY_TABLES.values():  # company_members: 2025 is too old to snapshot
        days = set(warehouse.read(table)["date"].map(str))
        assert days <= {f"2025-01-{d:02d}" for d in range(1, 11)} and "2025-01-10" in days
    # per activity endpoint: one day first (rows per day unknown), then one window for the other nine
    assert sum(simulator.sim.requests.values()) == 10, output[-5000:]
