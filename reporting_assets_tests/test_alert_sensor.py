"""The alert sensors end to end: simulator over HTTP, real runs and sensor ticks on a Dagster instance, a real
JSON receiver on 127.0.0.1 reached through apprise's `json://`."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, build_run_status_sensor_context, build_sensor_context

from reporting_assets.alerts.freshness import Freshness
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import Silence, load_rules
from reporting_assets.alerts.sensors import build_alert_sensor, build_run_failure_sensor
from reporting_assets.alerts.tick import AlertCursor, AlertTick, TickReport
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import ENGLISH
from reporting_assets.redact import Redactor
from reporting_assets.simulator.app import Simulator, serve
from reporting_assets.simulator.data import DEFAULT_COMPANIES
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import alert_events
from reporting_assets_tests.conftest import TOKEN, RunningSimulator
from reporting_assets_tests.helpers import kpi_assets, raw_assets, run
from reporting_assets_tests.receiver import SECRET, Receiver

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)  # the sensor's clock: no assertion depends on the day the suite runs
TODAY = NOW.date()
RULES = """\
settings:
  notify_horizon_days: {horizon}
rules:
  - name: low_satisfaction
    asset: adoption_satisfaction
    metric: satisfaction_rate
    condition: below
    threshold: 0.6
    for_days: 2
    severity: critical
    companies: {companies}
"""
ASSETS = [a for a in [*raw_assets, *kpi_assets] if a.key.path[-1] in ("chat_sessions", "chat_feedbacks")]
ASSETS += [a for a in kpi_assets if a.key.path[-1] == "adoption_satisfaction"]


def _incident_simulator(days: tuple[date, ...]) -> tuple[RunningSimulator, ThreadingHTTPServer]:
    acme = replace(DEFAULT_COMPANIES[0], incident_days=days)
    sim = Simulator(seed=7, token=TOKEN, companies=(acme, *DEFAULT_COMPANIES[1:]))
    server = serve(sim)
    host, port = server.server_address[:2]
    return RunningSimulator(sim, f"http://{host}:{port}"), server


class Ticker:
    """Real ticks, as the daemon runs them: the sensor's `AlertTick` on the instance, with the resources, carrying
    the cursor from tick to tick; each returns its typed report."""

    def __init__(self, alerts: AlertTick, instance: DagsterInstance, resources: dict) -> None:
        self.alerts, self.instance, self.resources, self.cursor = alerts, instance, resources, None
        self.reports: list[TickReport] = []
        self.clock = {"now": NOW}  # the tick's clock, when built with `now=ticker.now`

    def now(self) -> datetime:
        return self.clock["now"]

    def tick(self) -> TickReport:
        context = build_sensor_context(instance=self.instance, cursor=self.cursor, resources=self.resources)
        self.reports.append(self.alerts(context, self.resources["warehouse"], self.resources["notifier"]))
        self.cursor = context.cursor
        return self.reports[-1]


def _setup(tmp_path: Path, receiver: Receiver, sim: RunningSimulator, horizon: int = 30, companies: str = "[101]"):
    rules_file = tmp_path / "alerts.yaml"
    rules_file.write_text(RULES.format(horizon=horizon, companies=companies))
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    notifier = Notifier(urls=receiver.url, ui_url="http://127.0.0.1:3999")
    resources = {"paradigm": sim.resource(), "warehouse": warehouse, "notifier": notifier}
    instance = DagsterInstance.ephemeral()
    ticker = Ticker(AlertTick(load_rules(rules_file, NO_KPIS), ENGLISH), instance, resources)
    ticker.alerts = AlertTick(load_rules(rules_file, NO_KPIS), ENGLISH, now=ticker.now)
    return ticker, instance, resources, warehouse


def test_a_satisfaction_drop_is_notified_once_firing_and_once_resolved(tmp_path: Path, receiver: Receiver) -> None:
    first = TODAY - timedelta(days=14)
    incident = (TODAY - timedelta(days=6), TODAY - timedelta(days=5), TODAY - timedelta(days=4))
    sim, server = _incident_simulator(incident)
    try:
        receiver.start()
        ticker, instance, resources, warehouse = _setup(tmp_path, receiver, sim)
        assert run(ASSETS, resources, str(first), str(TODAY - timedelta(days=8)), instance).success
        ticker.tick()
        for offset in range(7, 0, -1):  # the daily routine: yesterday's partition, then a couple of ticks
            assert run(ASSETS, resources, str(TODAY - timedelta(days=offset)), instance=instance).success
            ticker.tick()
            ticker.tick()
        assert receiver.titles() == ["[FIRING] low_satisfaction (critical)", "[RESOLVED] low_satisfaction (critical)"]

        # A re-run of the whole range and a restart (fresh cursor) notify nobody again.
        assert run(ASSETS, resources, str(first), str(TODAY - timedelta(days=1)), instance).success
        ticker.tick()
        ticker.cursor = None
        ticker.tick()
    finally:
        server.shutdown()
        server.server_close()

    assert len(receiver.messages) == 2
    firing, resolved = receiver.messages
    assert firing["type"] == "failure" and resolved["type"] == "success"
    assert "ACME Corp (101): satisfaction_rate = " in firing["message"]
    assert f"holds since {incident[0]}" in firing["message"]
    assert (
        f"http://127.0.0.1:3999/assets/adoption_satisfaction?view=partitions&partition={incident[1]}"
        in (firing["message"])
    )
    assert f"back within the limit (0.6); the alert started on {incident[0]}" in resolved["message"]
    [episode] = warehouse.read(alert_events).to_dict("records")
    assert (episode["status"], episode["notifications_sent"], episode["started_at"]) == ("resolved", 2, incident[0])
    assert episode["resolved_at"] == incident[-1] + timedelta(days=1)
    assert any(r.fired == 1 for r in ticker.reports) and any(r.resolved == 1 for r in ticker.reports)
    assert not any(SECRET in r.summary for r in ticker.reports)
    # `alert_events` in the UI: a materialization each time the counts change (again after a restart)
    reported = [e for r in ticker.reports[:-1] for e in r.events]
    assert all(e.asset_key.path == ["alert_events"] for e in reported)
    counts = [tuple(e.metadata[s].value for s in ("pending", "firing", "resolved")) for e in reported]
    assert counts[0] == (0, 0, 0) and (0, 1, 0) in counts and counts[-1] == (0, 0, 1)
    assert all(a != b for a, b in itertools.pairwise(counts))  # only changes are reported
    [firing] = [e for e in reported if e.metadata["firing"].value == 1]
    assert "low_satisfaction" in firing.metadata["firing_alerts"].value and "ACME Corp" in firing.description + str(
        firing.metadata["firing_alerts"].value
    )
    assert [e.metadata["resolved"].value for e in ticker.reports[-1].events] == [
        1
    ]  # the restarted cursor says it again


def test_a_receiver_down_on_the_first_tick_gets_the_alert_on_a_later_tick(
    tmp_path: Path, receiver: Receiver, capfd: pytest.CaptureFixture
) -> None:
    sim, server = _incident_simulator((TODAY - timedelta(days=2), TODAY - timedelta(days=1)))
    try:
        ticker, instance, resources, warehouse = _setup(tmp_path, receiver, sim)
        assert run(ASSETS, resources, str(TODAY - timedelta(days=10)), str(TODAY - timedelta(days=1)), instance).success
        capfd.readouterr()
        report = ticker.tick()
        logged = capfd.readouterr().err  # the tick's log, as the daemon writes it
        assert (report.sent, report.failed) == (0, 1) and SECRET not in report.summary
        assert "json://user:****@127.0.0.1" in logged and "refused 1 alert(s)" in logged  # the channel masked
        assert SECRET not in logged
        [row] = warehouse.read(alert_events).to_dict("records")
        assert (row["status"], row["notifications_sent"]) == ("firing", 0)

        receiver.start()
        assert ticker.tick().sent == 0  # the channel refused a minute ago: not tried again yet (backoff)
        ticker.clock["now"] += timedelta(minutes=2)
        assert ticker.tick().sent == 1
        ticker.tick()
    finally:
        server.shutdown()
        server.server_close()
    assert receiver.titles() == ["[FIRING] low_satisfaction (critical)"]


def test_an_alert_that_fired_and_resolved_between_ticks_is_notified_even_after_the_data_is_rewritten(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    """The sequence of the last notes: an alert fires and resolves between two ticks, its notification is
    refused, then late data rewrites the days it held on. It was seen firing: it is told once, not dropped."""
    sim, server = _incident_simulator((TODAY - timedelta(days=6), TODAY - timedelta(days=5)))
    try:
        ticker, instance, resources, warehouse = _setup(tmp_path, receiver, sim)
        days = (str(TODAY - timedelta(days=10)), str(TODAY - timedelta(days=1)))
        assert run(ASSETS, resources, *days, instance).success
        assert ticker.tick().failed == 1  # fired and resolved; the channel is down
        [episode] = warehouse.read(alert_events).to_dict("records")
        assert (episode["status"], episode["notifications_sent"]) == ("resolved", 0)
    finally:
        server.shutdown()
        server.server_close()
    # The same days again, without the incident: the evaluation no longer shows the alert
    assert run(ASSETS, {**resources, "paradigm": simulator.resource()}, *days, instance).success
    receiver.start()
    ticker.clock["now"] += timedelta(minutes=2)
    ticker.tick()
    ticker.tick()
    assert receiver.titles() == ["[RESOLVED] low_satisfaction (critical)"]
    [episode] = warehouse.read(alert_events).to_dict("records")
    assert (episode["status"], episode["notifications_sent"]) == ("resolved", 2)


def test_a_year_backfill_records_alerts_but_sends_nothing(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    receiver.start()
    ticker, instance, resources, warehouse = _setup(tmp_path, receiver, simulator, horizon=3, companies="all")
    assert run(ASSETS, resources, "2025-01-01", "2025-12-31", instance).success
    report = ticker.tick()
    ticker.tick()
    recorded = warehouse.read(alert_events)
    assert len(recorded) >= 9  # Globex's satisfaction collapses every 37 days
    assert set(recorded["company_id"]) == {102}
    assert (recorded["notifications_sent"] == 0).all()
    assert receiver.messages == []
    assert report.sent == 0 and report.fired == len(recorded[recorded["status"] == "firing"])


def test_failed_runs_are_notified_unless_they_will_be_retried_once_per_channel_with_backoff(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    """A second channel refuses first: the tick fails, waits its backoff, then sends to it alone."""
    other = Receiver()
    receiver.start()
    instance = DagsterInstance.ephemeral()
    notifier = Notifier(urls=f"{receiver.url},{other.url.replace('/alerts', '/other')}")
    clock = {"now": NOW}
    sensor = build_run_failure_sensor(ENGLISH, Redactor(), now=lambda: clock["now"])
    bad = {"paradigm": simulator.resource(api_key="wrong-token")}
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'r.db'}")
    result = run(ASSETS[:1], {**bad, "warehouse": warehouse}, "2026-01-05", instance=instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")

    def evaluate(dagster_run) -> None:
        context = build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_instance=instance,
            dagster_run=dagster_run,
            dagster_event=failure,
            resources={"notifier": notifier, "warehouse": warehouse},
        )
        sensor(context.for_run_failure())

    evaluate(result.dagster_run.with_tags({**result.dagster_run.tags, "dagster/will_retry": "true"}))
    assert receiver.messages == []
    with pytest.raises(RuntimeError, match=r"to json://user:\*\*\*\*@127.0.0.1:\d+/other\?.* yet$"):
        evaluate(result.dagster_run)  # the other channel is down: the tick fails, Dagster evaluates it again
    other.start()
    try:
        with pytest.raises(RuntimeError, match="yet"):
            evaluate(result.dagster_run)  # within its backoff: not tried
        clock["now"] += timedelta(minutes=2)
        evaluate(result.dagster_run)
        evaluate(result.dagster_run)  # evaluated again (a restarted daemon): told once
    finally:
        other.stop()
    assert [m["title"] for m in other.messages] == ["[RUN FAILED] __ephemeral_asset_job__"]
    [message] = receiver.messages
    assert message["title"] == "[RUN FAILED] __ephemeral_asset_job__"
    assert f"/runs/{result.run_id}" in message["message"]
    assert "the token was rejected (401)" in message["message"]


def test_notification_urls_are_only_shown_masked() -> None:
    slack_token = "TIiajkdnlazkcOXrIdevi7FQ"
    notifier = Notifier(urls=f"json://user:{SECRET}@127.0.0.1:9/a, slack://T1JJ3T3L2/A1BRTD4JD/{slack_token}")
    targets = notifier.targets()
    assert len(targets) == 2 and not any(SECRET in t or slack_token in t for t in targets)
    with pytest.raises(ValueError, match=r"entry #2 \(scheme 'slack'\) is not a valid apprise URL") as failure:
        Notifier(urls=f"json://127.0.0.1:9/a,slack://T1/B1/{SECRET}").send("t", "b", "info")
    assert SECRET not in str(failure.value)


def test_silenced_alerts_are_recorded_not_sent(tmp_path: Path, receiver: Receiver) -> None:
    receiver.start()
    sim, server = _incident_simulator((TODAY - timedelta(days=2), TODAY - timedelta(days=1)))
    try:
        ticker, instance, resources, warehouse = _setup(tmp_path, receiver, sim)
        rules = load_rules(tmp_path / "alerts.yaml", NO_KPIS).model_copy(
            update={"silences": [Silence(rule="low_satisfaction", company_id=101, until=TODAY)]}
        )
        ticker.alerts = AlertTick(rules, ENGLISH, now=lambda: NOW)
        assert run(ASSETS, resources, str(TODAY - timedelta(days=8)), str(TODAY - timedelta(days=1)), instance).success
        assert ticker.tick().silenced == 1
    finally:
        server.shutdown()
        server.server_close()
    assert receiver.messages == []
    assert list(warehouse.read(alert_events)["status"]) == ["firing"]


def test_late_raw_data_is_notified_once_per_asset_and_resolved_once_when_it_arrives(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    receiver.start()
    ticker, instance, resources, warehouse = _setup(tmp_path, receiver, simulator)
    raw = [a for a in raw_assets if a.key.path[-1] in ("chat_sessions", "chat_feedbacks")]
    clock = {"now": datetime(2026, 3, 10, 8, 30, tzinfo=UTC)}  # before the 09:00 deadline of 2026-03-09
    late = Freshness(assets=("chat_sessions", "chat_feedbacks"), hour_utc=9, first_day=date(2026, 3, 1))
    ticker.alerts = AlertTick(
        load_rules(tmp_path / "alerts.yaml", NO_KPIS), ENGLISH, late_data=late, now=lambda: clock["now"]
    )
    assert run(raw, resources, "2026-03-01", "2026-03-08", instance).success

    ticker.tick()
    assert receiver.messages == []  # 2026-03-08 is loaded and 2026-03-09 is not due yet
    clock["now"] = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    ticker.tick()
    ticker.tick()
    assert receiver.titles() == ["[ALERTS] 2 firing"]  # one tick, two alerts: one grouped message
    alerts = receiver.alerts()
    assert [a["title"] for a in alerts] == ["[FIRING] raw_data_late (critical)"] * 2
    assert sorted(a["message"].split(":")[0] for a in alerts) == ["chat_feedbacks", "chat_sessions"]
    assert "1 day not loaded, none since 2026-03-08" in alerts[0]["message"]

    assert run(raw[:1], resources, "2026-03-09", instance=instance).success  # one of the two arrives
    ticker.tick()
    ticker.tick()
    assert receiver.titles()[1:] == ["[RESOLVED] raw_data_late (critical)"]  # alone in its tick: not grouped
    assert receiver.messages[1]["message"].startswith(f"{raw[0].key.path[-1]}: loaded again up to 2026-03-09")
    late_rows = warehouse.read(alert_events)
    assert sorted(zip(late_rows["asset"], late_rows["status"], late_rows["notifications_sent"], strict=True)) == sorted(
        [(raw[0].key.path[-1], "resolved", 2), (raw[1].key.path[-1], "firing", 1)]
    )


def test_nothing_loaded_yet_pages_nobody_and_a_stall_after_the_first_load_does(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    """A fresh instance is being set up, not late; once an asset has been loaded, its missing days page."""
    receiver.start()
    ticker, instance, resources, warehouse = _setup(tmp_path, receiver, simulator)
    assets = ("chat_sessions", "chat_feedbacks")
    late = Freshness(assets=assets, hour_utc=9, first_day=date(2026, 1, 1))
    ticker.alerts = AlertTick(load_rules(tmp_path / "alerts.yaml", NO_KPIS), ENGLISH, late_data=late, now=ticker.now)
    ticker.tick()
    ticker.clock["now"] += timedelta(hours=30)
    ticker.tick()
    assert receiver.messages == [] and warehouse.count(alert_events) == 0

    raw = [a for a in raw_assets if a.key.path[-1] in assets]
    last = TODAY - timedelta(days=20)
    assert run(raw, resources, str(last - timedelta(days=9)), str(last), instance).success
    ticker.tick()
    alerts = receiver.alerts()
    assert sorted(a["message"].split(":")[0] for a in alerts) == sorted(assets)
    assert all(a["title"] == "[FIRING] raw_data_late (critical)" for a in alerts)
    assert all(f"none since {last}" in a["message"] for a in alerts)


def test_the_sensor_says_its_ticks_report_and_keeps_the_cursor_of_earlier_versions(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    """The daemon's view: the sensor's skip reason is the tick report's summary; a cursor written by an earlier
    version (storage ids and counts mixed in one object) is read, so an upgrade re-evaluates nothing."""
    ticker, instance, resources, _ = _setup(tmp_path, receiver, simulator)
    assert run(ASSETS, resources, str(TODAY - timedelta(days=3)), str(TODAY - timedelta(days=1)), instance).success
    records = instance.fetch_materializations(AssetKey("adoption_satisfaction"), limit=1, ascending=False).records
    old = json.dumps({"adoption_satisfaction": records[0].storage_id, "alert_events:counts": [0, 0, 0]})
    context = build_sensor_context(instance=instance, cursor=old, resources=resources)
    result = build_alert_sensor(
        load_rules(tmp_path / "alerts.yaml", NO_KPIS), now=ticker.now, lang=ENGLISH, interval_s=60
    )(context)
    nothing = TickReport(evaluated={}, fired=0, resolved=0, pending=0, sent=0, silenced=0, failed=0, events=[])
    assert result.skip_reason.skip_message == nothing.summary  # an upgrade re-evaluates nothing
    cursor = AlertCursor.parse(context.cursor)
    assert (cursor.storage_ids, cursor.shown) == ({"adoption_satisfaction": records[0].storage_id}, [0, 0, 0])
    assert result.asset_events == []  # the counts did not change
