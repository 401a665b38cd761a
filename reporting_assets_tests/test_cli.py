"""The contract's headless backfill command works against the simulator over HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import RAW_TABLES

from .conftest import TOKEN

ROOT = Path(__file__).resolve().parents[1]


def test_dagster_asset_materialize_with_a_partition_range(simulator, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    db = f"sqlite:///{tmp_path / 'w.db'}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PARADIGM_BASE_URL": simulator.url,
        "PARADIGM_API_KEY": TOKEN,
        "REPORTING_DATABASE_URL": db,
    }
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "reporting_assets",
            "--select",
            "*",
            "--partition-range",
            "2025-01-01...2025-01-10",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert TOKEN not in output
    warehouse = Warehouse(url=db)
    for table in RAW_TABLES.values():
        days = set(warehouse.read(table)["date"].map(str))
        assert days <= {f"2025-01-{d:02d}" for d in range(1, 11)} and "2025-01-10" in days
    assert sum(simulator.sim.requests.values()) == 5  # one request per endpoint for 10 days
