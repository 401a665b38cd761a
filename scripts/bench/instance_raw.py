"""Part 10: an instance's raw backfill (companies of realistic sizes) per memory budget."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.bench.common import PROJECT, Sim, Workspace

if TYPE_CHECKING:
    from reporting_assets.simulator.data import Company


def instance_companies(count: int, seed: int = 7) -> tuple[Company, ...]:
    """`count` companies sized like an instance's: 3/4 small, 45/200 medium, the rest (5 in 200) large."""
    import random

    from reporting_assets.simulator.data import Company

    rng = random.Random(seed)  # noqa: S311 (synthetic sizes)
    large = max(1, count * 5 // 200)
    medium = count * 45 // 200
    bounds = [(2_000, 6_000)] * large + [(200, 2_000)] * medium + [(10, 200)] * (count - large - medium)
    users = [rng.randint(lo, hi) for lo, hi in bounds]
    return tuple(Company(1_000 + i, f"Company {i}", users=u, documents=max(1, u // 2)) for i, u in enumerate(users))


def instance_raw(base: Path, start: date, days: int, companies: int, budgets: list[int]) -> dict[str, Any]:
    """Part 10: every partitioned asset over `days` days of `companies` companies, one ranged run per budget."""
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import metadata

    fleet = instance_companies(companies)
    sim = Sim(companies=fleet)
    out: dict[str, Any] = {"companies": companies, "users": sum(c.users for c in fleet), "days": days}
    end = start + timedelta(days=days - 1)
    try:
        for budget in budgets:
            workspace = Workspace(base, f"instance-raw-{budget}", sim.url, sim.token)
            workspace.env["REPORTING_MEMORY_BUDGET_MB"] = str(budget)
            sim.reset()
            figures = workspace.materialize(PROJECT, ["--partition-range", f"{start}...{end}"])
            figures["api_requests"] = dict(sim.simulator.requests)
            figures["step_peak_rss_mb"] = workspace.step_peaks()
            warehouse = Warehouse(url=workspace.warehouse_url)
            figures["rows"] = {name: warehouse.count(table) for name, table in metadata.tables.items()}
            warehouse.engine.dispose()
            out[str(budget)] = figures
    finally:
        sim.server.shutdown()
    return out
