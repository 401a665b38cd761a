"""Part 5: one large tenant, every asset over ranges of different lengths, in process and with the default
executor."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.bench.common import IN_PROCESS, PROJECT, Sim, Workspace

if TYPE_CHECKING:
    pass


def large_tenant(base: Path, start: date, days: list[int], users: int, documents: int) -> dict[str, Any]:
    """Part 5: every asset for one large company over the last `n` days of the longest range, for each `n` of
    `days`, in one in-process run, and over the longest with the default executor (the simulator serves only
    that company)."""
    from reporting_assets.simulator.data import Company
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import metadata

    sim = Sim(companies=(Company(201, "BigCo", users=users, documents=documents),))
    out: dict[str, Any] = {"users": users, "documents": documents}
    end = start + timedelta(days=max(days) - 1)
    try:
        for n in days:  # every range ends on the same day: the simulated usage grows over time, and so do windows
            partitions = ["--partition-range", f"{end - timedelta(days=n - 1)}...{end}"]
            for executor, extra in (("in_process", IN_PROCESS), ("multiprocess", [])):
                if executor == "multiprocess" and (n != max(days) or Workspace.in_process):
                    continue
                workspace = Workspace(base, f"large-{n}-{executor}", sim.url, sim.token)
                figures = workspace.materialize(PROJECT, [*partitions, *extra])
                warehouse = Warehouse(url=workspace.warehouse_url)
                figures["rows"] = {name: warehouse.count(table) for name, table in metadata.tables.items()}
                warehouse.engine.dispose()
                out[f"{n}d_{executor}"] = figures
    finally:
        sim.server.shutdown()
    return out
