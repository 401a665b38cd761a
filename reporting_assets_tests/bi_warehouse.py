"""A warehouse as the BI tests read it: 32 days loaded from the simulator (raw, KPIs, per-user tables, members,
active users per period, the shipped example's custom KPIs, the demo's departments and a group named by each
hostile text) for 20 companies, the hostile corpus's among them, and the BI contract published."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from dagster import DagsterInstance, materialize

from reporting_assets.assets.users import build_user_assets
from reporting_assets.bi.publish import publish
from reporting_assets.custom_kpis.definition import EXAMPLE_KPIS
from reporting_assets.custom_kpis.definition import load as load_kpis
from reporting_assets.custom_kpis.defs import build_custom_kpis_asset
from reporting_assets.org.defs import build_group_activity, build_org_data
from reporting_assets.simulator.app import Simulator, serve
from reporting_assets.simulator.data import DEFAULT_COMPANIES, org_csv
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import company_members
from reporting_assets_tests import hostile
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB, PARTITIONS, kpi_assets, raw_assets, run

FIRST, LAST = date(2025, 1, 1), date(2025, 2, 1)  # 32 days: the 30-day figures are known for the last 3
COMPANIES = DEFAULT_COMPANIES + hostile.companies()


def load(warehouse: Warehouse, token: str) -> None:
    """Members written for every day (the API snapshots them only for recent days), then raw, KPI and per-user
    assets materialized in-process, then the contract published."""
    members = pd.DataFrame(
        [
            {"date": FIRST + timedelta(days=d), "company_id": c.id, "company_name": c.name.replace("\x00", "\ufffd"),
             "total_historical_members": c.users + 5, "current_active_members": c.users}
            for d in range((LAST - FIRST).days + 1)
            for c in COMPANIES
        ]
    ).assign(ingested_at=pd.Timestamp("2025-03-01", tz="UTC"))  # fmt: skip
    days = ledger.day_counts(members, FIRST, LAST, None)
    warehouse.replace(company_members, FIRST, LAST, members, loaded=ledger.entries("company_members", days, "t"))
    sim = Simulator(seed=7, token=token, companies=COMPANIES)
    server = serve(sim)
    try:
        host, port = server.server_address[:2]
        api = RunningSimulator(sim, f"http://{host}:{port}").resource()
        result = run([*raw_assets, *kpi_assets], {"warehouse": warehouse, "paradigm": api}, str(FIRST), str(LAST))
        assert result.success
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "org.csv"
            hostile_rows = hostile.org_file(site="Remote").split("\n", 1)[1]  # the demo's header has a site
            path.write_text(org_csv() + hostile_rows, encoding="utf-8")
            org = [build_org_data(str(path), None), build_group_activity(10, MEMORY_BUDGET_MB)]
            resources = {"warehouse": warehouse, "paradigm": api}
            assert materialize(org, resources=resources, instance=DagsterInstance.ephemeral())
    finally:
        server.shutdown()
        server.server_close()
    assert materialize(
        build_user_assets(MEMORY_BUDGET_MB), resources={"warehouse": warehouse}, instance=DagsterInstance.ephemeral()
    )
    custom = build_custom_kpis_asset(load_kpis(EXAMPLE_KPIS), PARTITIONS, MEMORY_BUDGET_MB)
    assert run([custom], {"warehouse": warehouse}, str(FIRST), str(LAST)).success
    publish(warehouse.engine, user_lists=True, first_day=None)
