"""End to end as an operator runs it: `make instance` + `dagster dev` (webserver and daemon) on a free port, with
Dagster's own storage on PostgreSQL (`deploy/storage-postgres.yaml`).

One `dagster dev` serves, in this order: its idle first ticks, then a 14-day backfill ending 5 days ago launched
through GraphQL by the headless helper, the warehouse checked against an in-process run of the same range and
what the alert sensor sent about it; then a backfill of the 6 days before today launched from a real browser;
then a failed run and failing alert deliveries, after which no secret may be found anywhere (files under
DAGSTER_HOME, the warehouse, the instance's PostgreSQL database, the server's output).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from reporting_assets.assets.schedules import RANGE_END_TAG, RANGE_START_TAG
from reporting_assets.backfill import follow
from reporting_assets.backfill import main as backfill
from reporting_assets.i18n import ENGLISH
from reporting_assets.simulator.data import Company
from reporting_assets.simulator.faults import Fault
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, RAW_TABLES
from reporting_assets_tests.conftest import CHROMIUM_ARGS, TOKEN, RunningSimulator, dagster_database, serving_simulator
from reporting_assets_tests.helpers import ACTIVITY_TABLES, kpi_assets, raw_assets, run
from reporting_assets_tests.processes import dagster_dev, graphql
from reporting_assets_tests.receiver import SECRET, Receiver

pytestmark = pytest.mark.slow(minutes=4)
# A range ending 5 days before today: Dagster's backfill also materializes the KPI days after it (up to
# yesterday), which were never loaded: they must get no rows and no alert.
LAST = datetime.now(UTC).date() - timedelta(days=5)
FIRST = LAST - timedelta(days=13)
START, END = str(FIRST), str(LAST)
MATERIALIZED = """query($path: [String!]!) { assetOrError(assetKey: {path: $path}) {
  ... on Asset { assetMaterializations(limit: 1000) { partition
    metadataEntries { label ... on BoolMetadataEntry { boolValue } ... on IntMetadataEntry { intValue } } } } } }"""
TICKS = """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
  ... on Sensor { sensorState { ticks(limit: 20) { timestamp status skipReason error { message } } } } } }"""
# The shipped rules, a canary that holds on every loaded day (so real alerts in the range are seen firing), and a
# horizon reaching the range's last day, so that they are sent.
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
IDLE_TICKS = 3  # alert ticks watched on the fresh instance before anything is loaded
USER_KEY = "e2e-user-id-key-7c41d09a"  # pseudonymisation on: the key is a secret too
CANARY = """
  - name: canary_sessions
    asset: adoption_satisfaction
    metric: sessions_count
    condition: above
    threshold: -1
    severity: info
"""


def _backfill_and_compare(tmp_path: Path, simulator: RunningSimulator, url: str, db: Path, capsys) -> None:
    assert backfill(["--start", START, "--end", END, "--url", url, "--timeout", "600"]) == 0
    printed = capsys.readouterr().out
    assert "launched" in printed and "success" in printed and "failure" not in printed, printed
    _compare(tmp_path, simulator, url, db, FIRST, LAST, user_id_key=USER_KEY)


def _compare(
    tmp_path: Path,
    simulator: RunningSimulator,
    url: str,
    db: Path,
    first: date,
    last: date,
    user_id_key: str = "",
) -> None:
    """The warehouse of `dagster dev` holds, for `first..last`, what an in-process run of the range writes (into
    `tmp_path`'s expected warehouse, on top of what earlier calls ran there), and every KPI partition of the range
    is materialized."""
    expected = Warehouse(url=f"sqlite:///{tmp_path / 'expected.db'}")
    resources = {"paradigm": simulator.resource(user_id_key=user_id_key), "warehouse": expected}
    assert run([*raw_assets, *kpi_assets], resources, str(first), str(last)).success
    actual = Warehouse(url=f"sqlite:///{db}")
    for table in [*ACTIVITY_TABLES.values(), *KPI_TABLES.values()]:
        # Dagster's backfill also refreshes the KPI days after `last` whose 7-day window reads it: compare the range.
        ignore = [c for c in ("ingested_at",) if c in table.c]
        left = actual.read(table, first, last).drop(columns=ignore)
        right = expected.read(table, first, last).drop(columns=ignore)
        assert len(left) > 0
        pd.testing.assert_frame_equal(left, right, obj=table.name)
    days = (last - first).days + 1
    for name in KPI_TABLES:
        data = graphql(url, MATERIALIZED, path=[name])["assetOrError"]["assetMaterializations"]
        assert {m["partition"] for m in data} >= {str(first + timedelta(days=d)) for d in range(days)}, name


def _alerts_rules(tmp_path: Path) -> Path:
    shipped = (Path(__file__).parents[1] / "reporting_assets" / "alerts" / "alerts.yaml").read_text()
    rules = shipped.replace("notify_horizon_days: 3", "notify_horizon_days: 7").replace(
        "\nrules:\n", "\nrules:" + CANARY
    )
    assert "canary_sessions" in rules and "notify_horizon_days: 7" in rules
    path = tmp_path / "alerts.yaml"
    path.write_text(rules)
    return path


def _wait_for_a_tick_after(url: str, moment: float, timeout_s: float = 300) -> dict:
    """The first `kpi_alerts` tick that started after `moment` and finished (timestamp, skipReason...)."""
    selector = {"repositoryLocationName": "paradigm_reporting", "repositoryName": "__repository__"}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = graphql(url, TICKS, selector={**selector, "sensorName": "kpi_alerts"})["sensorOrError"]
        done = [t for t in data["sensorState"]["ticks"] if t["timestamp"] > moment and t["status"] != "STARTED"]
        if done:
            return min(done, key=lambda t: t["timestamp"])
        time.sleep(2)  # polling the daemon's tick history is not synchronisation of our own code
    pytest.fail(f"no kpi_alerts tick finished within {timeout_s:.0f} s after the backfill")


@dataclass
class Dev:
    """A running `dagster dev`, the simulator it fetches from and the receiver of its alerts."""

    url: str
    db: Path
    home: Path
    simulator: RunningSimulator
    receiver: Receiver
    stop: Callable[[], None]  # stops the server and the simulator (files under `home` then hold still)
    instance_url: str  # Dagster's storage (PostgreSQL)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, postgres_root: str) -> Iterator[Dev]:
    """One `dagster dev` for every end-to-end test (they run in order, on one xdist worker: the `dagster_dev`
    group); its instance database outlives `stop`, for the secret scan."""
    home = tmp_path_factory.mktemp("dev")
    receiver = Receiver()
    receiver.start()
    env = {
        "REPORTING_ALERT_URLS": receiver.url,
        "REPORTING_ALERT_RULES": str(_alerts_rules(home)),
        "REPORTING_USER_ID_KEY": USER_KEY,
        "REPORTING_ALERT_INTERVAL_S": "5",  # the ticks this test waits for come every 5 s, not every minute
    }
    with dagster_database(postgres_root) as instance_url, ExitStack() as stack:
        simulator = stack.enter_context(serving_simulator())
        url, db = stack.enter_context(dagster_dev(home, simulator, DAGSTER_POSTGRES_URL=instance_url, **env))
        yield Dev(url, db, home, simulator, receiver, stack.close, instance_url)
    receiver.stop()


shared_dev = pytest.mark.xdist_group("dagster_dev")


@shared_dev
def test_a_backfill_launched_through_graphql_fills_the_warehouse(dev: Dev, capsys) -> None:
    """Also the reproduction of "a day never loaded is not a day without activity": the KPI days after the range
    get no row and no notification, while the alerts inside the range still fire."""
    url, db, receiver = dev.url, dev.db, dev.receiver
    # A fresh instance, nothing loaded yet: a setup state, not an incident. Its first alert ticks and its
    # freshness checks page nobody.
    idle = [_wait_for_a_tick_after(url, 0)]
    while len(idle) < IDLE_TICKS:
        idle.append(_wait_for_a_tick_after(url, idle[-1]["timestamp"]))
    freshness = [t for t in _ticks(url, "freshness_checks_sensor") if t["status"] != "STARTED"]
    assert receiver.messages == [] and freshness, (receiver.messages, freshness)
    assert all("fired 0, resolved 0, pending 0;" in (tick["skipReason"] or "") for tick in idle), idle
    _backfill_and_compare(dev.home, dev.simulator, url, db, capsys)  # its expected warehouse serves the UI test too
    reason = _wait_for_a_tick_after(url, time.time())["skipReason"]
    materialized = graphql(url, MATERIALIZED, path=["adoption_satisfaction"])["assetOrError"]
    after = {m["partition"]: m for m in materialized["assetMaterializations"] if m["partition"] > END}

    warehouse = Warehouse(url=f"sqlite:///{db}")
    for table in KPI_TABLES.values():
        assert max(warehouse.read(table)["date"]) == LAST, table.name  # nothing for the days never loaded
    assert str(LAST + timedelta(days=1)) in after  # Dagster did materialize them...
    for partition in after.values():  # ...and their metadata says "not loaded", never "0 sessions"
        entries = {e["label"]: e for e in partition["metadataEntries"]}
        assert entries["loaded"]["boolValue"] is False and "sessions" not in entries, partition

    alerts = receiver.alerts()  # grouped messages count one alert per line
    titles = [a["title"] for a in alerts]
    canary = [m for m in alerts if "canary_sessions" in m["title"]]
    assert [m["title"] for m in canary] == ["[FIRING] canary_sessions (info)"] * 3, (titles, reason)
    assert all(f"on {LAST}" in m["message"] for m in canary)  # firing as of the last loaded day
    # What fired every time before: no_sessions and sessions_drop on the days never loaded.
    assert not [t for t in titles if "no_sessions" in t or "sessions_drop" in t], titles
    kpi_days = [d for m in alerts if "raw_data_late" not in m["title"] for d in DAY.findall(m["message"])]
    assert kpi_days and max(kpi_days) <= END, titles  # real alerts (low_satisfaction) may fire inside the range
    # Data stopped arriving after the range: said once per raw asset, by the late-data alert.
    late = sorted(m["message"].split(":")[0] for m in alerts if "raw_data_late" in m["title"])
    assert late == sorted(RAW_TABLES), titles


@shared_dev
def test_a_backfill_launched_from_the_ui_on_a_postgresql_instance_completes(dev: Dev, chromium, tmp_path) -> None:
    """As a person does it, after the backfill above: the 6 days before today (recent, so that company_members
    records them too, and still when 00:00 UTC passes during the test), "Materialize all" from the asset group
    page. The warehouse then equals an in-process run of both ranges, and the runs are in PostgreSQL."""
    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=5)
    assert first <= LAST + timedelta(days=1)  # one loaded history with the range above, no gap
    _launch_from_the_ui(dev.url, chromium, first, last, tmp_path)
    # the expected warehouse of the backfill above, with these days run in-process on top: both ranges' history
    _compare(dev.home, dev.simulator, dev.url, dev.db, first, last, user_id_key=USER_KEY)
    # "Materialize all" included the dashboard: rendered after the KPIs, over the days loaded
    page = (dev.home / "dagster_home" / "reports" / "usage_dashboard.html").read_text()
    assert f'id="data-through">{ENGLISH.date(last)}<' in page and f"first loaded day {ENGLISH.date(FIRST)}" in page
    assert "Every day of this range is loaded" in page
    warehouse = Warehouse(url=f"sqlite:///{dev.db}")
    for table in RAW_TABLES.values():  # nothing after yesterday
        assert max(warehouse.read(table)["date"]) == last, table.name
    instance = sa.create_engine(dev.instance_url)
    with instance.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one() >= 2
    instance.dispose()


def _launch_from_the_ui(url: str, chromium: str, first: date, last: date, tmp_path: Path) -> None:
    """Materialize all assets over `first..last` from the asset group page, as a person does; wait for the end."""
    start, end = str(first), str(last)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{url}/asset-groups/paradigm_raw", wait_until="networkidle")
            with contextlib.suppress(PlaywrightTimeout):  # the first visit may greet with a newsletter dialog
                page.get_by_role("button", name="Skip").click(timeout=10_000)
            page.get_by_text("paradigm_kpis").first.wait_for()  # the asset graph is drawn
            page.get_by_role("button", name="Materialize all").click()
            box = page.get_by_placeholder("No matching partitions")
            box.fill(f"[{start}...{end}]")
            box.press("Enter")
            # exact: "6 partitions" must not also match the whole history's "696 partitions"
            page.get_by_text(f"{(last - first).days + 1} partitions", exact=True).wait_for()
            page.get_by_role("button", name="Launch backfill").click()
            toast = page.get_by_text("Created backfill")
            toast.wait_for()
            backfill_id = toast.inner_text().split()[-1]
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            browser.close()
    with httpx.Client(base_url=url, timeout=30) as client:
        assert follow(client, backfill_id, poll_s=1, timeout_s=600) in ("COMPLETED", "COMPLETED_SUCCESS")


@shared_dev
def test_no_secret_reaches_logs_storage_metadata_or_the_warehouse(dev: Dev) -> None:
    """With the real webserver and daemon: after the backfills above, alerts whose delivery fails, a failed run and
    the sensor reporting it, neither the API token nor the notification secret appears anywhere under
    DAGSTER_HOME (run and tick logs, compute logs), in the instance's database (event logs), in the warehouse or in
    the server's output."""
    dev.receiver.stop()  # every delivery fails from now on
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assets = ["chat_sessions", "chat_feedbacks", "adoption_satisfaction"]
    # A company joins: the canary rule fires for it, and telling it fails.
    dev.simulator.sim.companies = (*dev.simulator.sim.companies, Company(104, "Newcomer", users=20, documents=5))
    try:
        assert _run(dev.url, assets, yesterday - timedelta(days=1), yesterday) == "SUCCESS"
        dev.simulator.sim.faults.add(Fault("status", status=401, times=None))
        assert _run(dev.url, ["chat_sessions"], yesterday, yesterday) == "FAILURE"

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # until both sensors have tried (and failed) to deliver
            alerts = [t["skipReason"] or "" for t in _ticks(dev.url, "kpi_alerts")]
            failures = [t for t in _ticks(dev.url, "run_failure_alerts") if t["status"] == "FAILURE"]
            if failures and any(re.search(r"failed [1-9]", r) for r in alerts):
                break
            time.sleep(2)  # polling the daemon's tick history; the assertions below do not depend on timing
        else:
            raise AssertionError(f"sensors did not report failed deliveries: {alerts}, {failures}")
        assert "json://user:****@" in failures[0]["error"]["message"]  # the channel is named, masked
    finally:
        dev.simulator.sim.faults.clear()
        dev.stop()  # the scan reads files that hold still

    corpus = _corpus(dev.home / "dagster_home", dev.db, dev.home / "dagster_dev.log") + _rows(dev.instance_url)
    assert b"the token was rejected (401)" in corpus  # the scan reads the failure texts
    assert TOKEN.encode() not in corpus
    assert SECRET.encode() not in corpus
    assert USER_KEY.encode() not in corpus


LAUNCH_RUN = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
RUN_STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""


def _run(url: str, assets: list[str], first: date, last: date, timeout_s: float = 300) -> str:
    """One run of `assets` over `first..last` launched as the UI launches a run (not a backfill: the backfill
    daemon acts every 30 s, the run queue every few), followed to its end; returns its status."""
    selector = {"repositoryLocationName": "paradigm_reporting", "repositoryName": "__repository__"}
    tags = [{"key": RANGE_START_TAG, "value": str(first)}, {"key": RANGE_END_TAG, "value": str(last)}]
    params = {
        "selector": {**selector, "jobName": "__ASSET_JOB", "assetSelection": [{"path": [a]} for a in assets]},
        "executionMetadata": {"tags": tags},
        "runConfigData": {},
    }
    launched = graphql(url, LAUNCH_RUN, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id, deadline = launched["run"]["runId"], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, id=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)  # polling the run's status: the assertions do not depend on timing
    pytest.fail(f"run {run_id} did not end within {timeout_s:.0f} s")


def _ticks(url: str, name: str) -> list[dict]:
    selector = {"repositoryLocationName": "paradigm_reporting", "repositoryName": "__repository__"}
    return graphql(url, TICKS, selector={**selector, "sensorName": name})["sensorOrError"]["sensorState"]["ticks"]


def _rows(url: str) -> bytes:
    """Every row of every table of a database, as text."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        text = "\n".join(
            repr(row) for t in tables for row in conn.execute(sa.select(sa.text("*")).select_from(sa.table(t)))
        )
    engine.dispose()
    assert "event_logs" in tables and "STEP_FAILURE" in text  # the scan reads the event log
    return text.encode()


def _corpus(*roots: Path) -> bytes:
    files = [p for root in roots for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    assert files
    return b"\n".join(p.read_bytes() for p in files)
