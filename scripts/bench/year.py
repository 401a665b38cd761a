"""Part 1: a ranged year backfill of every partitioned asset beside its floor of empty assets (`bench_floor.py`)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.bench.common import FLOOR, PROJECT, Sim, Workspace

if TYPE_CHECKING:
    pass


def year_backfill(base: Path, sim: Sim, start: date, end: date) -> dict[str, Any]:
    """Part 1: the real assets and their empty twins over the same range, same executor, same instance setup."""
    from reporting_assets.custom_kpis.definition import NO_KPIS
    from reporting_assets.i18n import ENGLISH
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
    dashboard = render(warehouse.engine, datetime.now(UTC), user_lists=True, lang=ENGLISH, kpis=NO_KPIS)
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
