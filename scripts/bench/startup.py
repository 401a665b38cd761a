"""Part 4: the code-location load, and the alert sensor's first tick after the year of part 1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from scripts.bench.common import ROOT, Workspace

if TYPE_CHECKING:
    pass


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
    from reporting_assets.custom_kpis.definition import NO_KPIS
    from reporting_assets.i18n import ENGLISH
    from reporting_assets.settings import DEFAULT_RULES_PATH
    from reporting_assets.warehouse.store import Warehouse

    sensor = build_alert_sensor(load_rules(DEFAULT_RULES_PATH, NO_KPIS), lang=ENGLISH, interval_s=60)
    resources = {"warehouse": Warehouse(url=workspace.warehouse_url), "notifier": Notifier()}
    with DagsterInstance.from_config(str(workspace.home)) as instance:
        context = build_sensor_context(instance=instance, resources=resources)
        t0 = time.perf_counter()
        outcome = sensor(context)
        elapsed = time.perf_counter() - t0
    return {"tick_s": round(elapsed, 2), "outcome": outcome.skip_reason.skip_message}
