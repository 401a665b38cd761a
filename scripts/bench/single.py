"""Part 2: one run per partition against one ranged run of the same days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.bench.common import PROJECT, Sim, Workspace

if TYPE_CHECKING:
    pass


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
