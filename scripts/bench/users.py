"""Part 8: a large tenant's per-user analytics, with raw ids and with pseudonyms."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts.bench.common import BIN, IN_PROCESS, PROJECT, Sim, Workspace, run

if TYPE_CHECKING:
    pass


USER_KEY = "bench-pseudonymisation-key-0123456789"


def per_user(base: Path, start: date, days: int, users: int, repeat: int = 2) -> dict[str, Any]:
    """Part 8: a `users`-user tenant's `days` of `user_activities` in one in-process run, with raw ids and with
    pseudonyms (best of `repeat` each, the run alone: loading the code is the same for both), then
    `user_engagement` and `retention_cohorts` over that history."""
    from reporting_assets.simulator.data import Company
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import retention_cohorts, user_activities, user_engagement

    sim = Sim(companies=(Company(201, "BigCo", users=users, documents=10),))
    end = start + timedelta(days=days - 1)
    partitions = ["--partition-range", f"{start}...{end}"]
    out: dict[str, Any] = {"users": users, "days": days}
    try:
        for label, key in (("raw_ids", None), ("pseudonymised", USER_KEY)):
            runs = []
            for attempt in range(repeat):
                workspace = Workspace(base, f"users-{label}-{attempt}", sim.url, sim.token)
                if key:
                    workspace.env["REPORTING_USER_ID_KEY"] = key
                command = [str(BIN / "dagster"), "asset", "materialize", *PROJECT, "--select", "user_activities"]
                workspace.launched = time.time()
                figures = run([*command, *partitions, *IN_PROCESS], workspace.env, workspace.log)
                runs.append({**figures, **workspace.run_phases()})
            out[label] = min(runs, key=lambda r: r["run_s"])
        out["pseudonymisation_overhead"] = round(out["pseudonymised"]["run_s"] / out["raw_ids"]["run_s"] - 1, 3)
        command = [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            *PROJECT,
            "--select",
            "user_engagement,retention_cohorts",
        ]
        workspace.launched = time.time()
        out["per_user_assets"] = {**run(command, workspace.env, workspace.log), **workspace.run_phases()}
        warehouse = Warehouse(url=workspace.warehouse_url)
        out["rows"] = {t.name: warehouse.count(t) for t in (user_activities, user_engagement, retention_cohorts)}
        warehouse.engine.dispose()
    finally:
        sim.server.shutdown()
    return out
