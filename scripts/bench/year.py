"""Parts 1, 2 and 4: a ranged year backfill beside its floor of empty assets, one run per partition against one
ranged run, the code-location load, and the alert sensor's first tick after the year."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from scripts.bench.common import (
    FLOOR,
    PROJECT,
    ROOT,
    Sim,
    Workspace,
)


def year_backfill(base: Path, sim: Sim, start: date, end: date) -> dict[str, Any]:
    """Part 1: the real assets and their empty twins over the same range, same executor, same instance setup."""
    from reporting_assets.reports.dashboard import render
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import metadata

    partitions = ["--partition-range", f"{start}...{end}"]
    floor_ws = Workspace(base, "floor", sim.url, sim.token)
    floor = {**floor_ws.materialize(FLOOR, partitions), **floor_ws.run_phases()}
    real_ws = Workspace(base, "year", sim.url, sim.token)
    sim.reset()
    real = {**real_ws.materialize(PROJECT, partitions), **real_ws.run_phases()}
    real["api_requests"] = dict(sim.simulator.requests)
    warehouse = Warehouse(url=real_ws.warehouse_url)
    real["rows"] = {name: warehouse.count(table) for name, table in metadata.tables.items()}
    began = time.perf_counter()
    dashboard = render(warehouse.engine, datetime.now(UTC))
    real["dashboard"] = {
        "mb": round(len(dashboard.html.encode()) / 1e6, 2),
        "render_s": round(time.perf_counter() - began, 1),
    }
    return {
        "days": (end - start).days + 1,
        "floor": floor,
        "project": real,
        "ratio": round(real["wall_s"] / floor["wall_s"], 2),
        "workspace": real_ws,
    }


def single_vs_ranged(base: Path, sim: Sim, start: date, days: int) -> dict[str, Any]:
    """Part 2: `days` one-partition runs (the default backfill) vs one ranged run of the same days."""
    keys = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    single_ws = Workspace(base, "single", sim.url, sim.token)
    single = 0.0
    for key in keys:
        single += single_ws.materialize(PROJECT, ["--partition", key])["wall_s"]
    ranged = Workspace(base, "ranged", sim.url, sim.token).materialize(
        PROJECT, ["--partition-range", f"{keys[0]}...{keys[-1]}"]
    )["wall_s"]
    return {"days": days, "single_runs_s": round(single, 1), "ranged_run_s": ranged, "ratio": round(single / ranged, 1)}


def import_time(repeat: int = 3) -> float:
    """Best of `repeat`: seconds loading the code location (import `reporting_assets.definitions` and build its
    definitions, as Dagster does) adds to a bare interpreter."""

    def best(code: str) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            env = {**os.environ, "PARADIGM_BASE_URL": "demo"}
            subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, env=env, check=True)
            times.append(time.perf_counter() - t0)
        return min(times)

    return round(best("import reporting_assets.definitions as d; d.defs()") - best("pass"), 2)


def sensor_tick(workspace: Workspace) -> dict[str, Any]:
    """Part 4: the first `kpi_alerts` tick after the year backfill (every KPI partition is new to it)."""
    from dagster import DagsterInstance, build_sensor_context

    from reporting_assets.alerts.notify import Notifier
    from reporting_assets.alerts.rules import load_rules
    from reporting_assets.alerts.sensors import build_alert_sensor
    from reporting_assets.warehouse.store import Warehouse

    sensor = build_alert_sensor(load_rules())
    resources = {"warehouse": Warehouse(url=workspace.warehouse_url), "notifier": Notifier()}
    with DagsterInstance.from_config(str(workspace.home)) as instance:
        context = build_sensor_context(instance=instance, resources=resources)
        t0 = time.perf_counter()
        outcome = sensor(context)
        elapsed = time.perf_counter() - t0
    return {"tick_s": round(elapsed, 2), "outcome": outcome.skip_reason.skip_message}
