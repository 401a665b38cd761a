"""Secrets never leak: with the real webserver and daemon, a backfill, alerts whose delivery fails, a failed run
and the sensors reporting it, neither the API token nor the notification secret appears anywhere under
DAGSTER_HOME (event logs, run and tick logs, compute logs), in the warehouse or in the server's output."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from reporting_assets.backfill import follow, launch
from reporting_assets.simulator.app import Fault
from reporting_assets_tests.conftest import TOKEN, RunningSimulator
from reporting_assets_tests.processes import dagster_dev, free_port, graphql

SECRET = "notify-secret-4b7e21"
RULES = """\
settings:
  notify_horizon_days: 30
rules:
  - name: any_sessions
    asset: adoption_satisfaction
    metric: sessions_count
    condition: above
    threshold: 0
"""
TICKS = """query($name: String!) { sensorOrError(sensorSelector: {repositoryName: "__repository__",
  repositoryLocationName: "paradigm_reporting", sensorName: $name}) {
  ... on Sensor { sensorState { ticks(limit: 20) { status skipReason error { message } } } } } }"""


def _ticks(url: str, name: str) -> list[dict]:
    return graphql(url, TICKS, name=name)["sensorOrError"]["sensorState"]["ticks"]


def _corpus(*roots: Path) -> bytes:
    files = [p for root in roots for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    assert files
    return b"\n".join(p.read_bytes() for p in files)


def test_no_secret_reaches_logs_storage_metadata_or_the_warehouse(tmp_path: Path, simulator: RunningSimulator) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES)
    urls = f"json://user:{SECRET}@127.0.0.1:{free_port()}/alerts"  # nobody listens: every delivery fails
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assets = ["chat_sessions", "chat_feedbacks", "adoption_satisfaction"]
    with (
        dagster_dev(tmp_path, simulator, REPORTING_ALERT_URLS=urls, REPORTING_ALERT_RULES=str(rules)) as (url, db),
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        assert follow(client, launch(client, yesterday - timedelta(days=4), yesterday, assets), poll_s=1) in (
            "COMPLETED",
            "COMPLETED_SUCCESS",
        )
        simulator.sim.faults.add(Fault("status", status=401, times=None))
        assert "FAIL" in follow(client, launch(client, yesterday, yesterday, ["chat_sessions"]), poll_s=1)

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # until both sensors have tried (and failed) to deliver
            alerts = [t["skipReason"] or "" for t in _ticks(url, "kpi_alerts")]
            failures = [t for t in _ticks(url, "run_failure_alerts") if t["status"] == "FAILURE"]
            if failures and any(re.search(r"failed [1-9]", r) for r in alerts):
                break
            time.sleep(2)  # polling the daemon's tick history; the assertions below do not depend on timing
        else:
            raise AssertionError(f"sensors did not report failed deliveries: {alerts}, {failures}")
        assert "json://user:****@" in failures[0]["error"]["message"]  # the channel is named, masked

    corpus = _corpus(tmp_path / "dagster_home", db, tmp_path / "dagster_dev.log")
    assert b"the token was rejected (401)" in corpus  # the scan reads the failure texts
    assert TOKEN.encode() not in corpus
    assert SECRET.encode() not in corpus
