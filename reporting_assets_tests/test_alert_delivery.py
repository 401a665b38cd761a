"""Delivery as operators see it, through a real JSON receiver: several alerts of one tick in one grouped message,
retried as a whole and never twice once delivered; reminders of still-firing alerts after `repeat_after_hours`
(clock injected), none after resolution or when silenced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance

from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import Silence, load_rules
from reporting_assets.alerts.tick import AlertTick
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import ENGLISH
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import alert_channels, alert_deliveries, alert_events
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import kpi_assets, raw_assets, run
from reporting_assets_tests.receiver import Receiver
from reporting_assets_tests.test_alert_sensor import Ticker

MONDAY = date(2026, 3, 2)  # Monday..Friday loaded: every company has sessions every day
RULES = """\
settings:
  notify_horizon_days: 30
  repeat_after_hours: {{critical: 24}}
rules:
  - name: busy
    asset: adoption_satisfaction
    metric: sessions_count
    condition: above
    threshold: {threshold}
    severity: {severity}
    companies: all
{extra}"""
ASSETS = [a for a in raw_assets if a.key.path[-1] in ("chat_sessions", "chat_feedbacks")]
ASSETS += [a for a in kpi_assets if a.key.path[-1] == "adoption_satisfaction"]


def _ticker(tmp_path: Path, receiver: Receiver, sim: RunningSimulator, clock: dict, **rules: str) -> Ticker:
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES.format(**{"threshold": "0", "severity": "warning", "extra": "", **rules}))
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    resources = {"paradigm": sim.resource(), "warehouse": warehouse, "notifier": Notifier(urls=receiver.url)}
    ticker = Ticker(
        AlertTick(load_rules(path, NO_KPIS), ENGLISH, now=lambda: clock["now"]), DagsterInstance.ephemeral(), resources
    )
    assert run(ASSETS, resources, str(MONDAY), str(MONDAY + timedelta(days=4)), ticker.instance).success
    return ticker


def test_one_tick_with_three_companies_sends_one_grouped_message_retried_whole_until_delivered(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    clock = {"now": datetime.combine(MONDAY + timedelta(days=5), datetime.min.time(), UTC)}
    ticker = _ticker(tmp_path, receiver, simulator, clock)
    assert ticker.tick().failed == 3  # the channel is down: nothing marked delivered
    receiver.start()
    clock["now"] += timedelta(minutes=2)  # past the first backoff
    assert ticker.tick().sent == 3
    ticker.tick()
    [message] = receiver.messages  # once, whole
    assert message["title"] == "[ALERTS] 3 firing"
    lines = message["message"].splitlines()
    assert lines[0] == "WARNING" and len(lines) == 4
    assert sorted(line.split(": ")[1] for line in lines[1:]) == ["ACME Corp (101)", "Globex (102)", "Initech (103)"]
    assert all(
        line.startswith("[FIRING] busy (warning): ") and "/assets/adoption_satisfaction" in line for line in lines[1:]
    )
    rows = ticker.resources["warehouse"].read(alert_events)
    assert set(rows["notifications_sent"]) == {1}


def test_a_rule_that_opts_out_is_sent_alone(tmp_path: Path, receiver: Receiver, simulator: RunningSimulator) -> None:
    receiver.start()
    clock = {"now": datetime.combine(MONDAY + timedelta(days=5), datetime.min.time(), UTC)}
    ticker = _ticker(tmp_path, receiver, simulator, clock, extra="    group_notifications: false\n")
    ticker.tick()
    assert receiver.titles() == ["[FIRING] busy (warning)"] * 3


def test_a_critical_alert_still_firing_is_repeated_after_24_hours_and_never_after_it_resolved(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    receiver.start()
    start = datetime.combine(MONDAY + timedelta(days=5), datetime.min.time(), UTC)
    clock = {"now": start}
    ticker = _ticker(tmp_path, receiver, simulator, clock, severity="critical")
    ticker.tick()
    clock["now"] = start + timedelta(hours=23)
    ticker.tick()
    assert receiver.titles() == ["[ALERTS] 3 firing"]  # not yet
    clock["now"] = start + timedelta(hours=24, minutes=1)
    ticker.tick()
    ticker.tick()
    assert receiver.titles() == ["[ALERTS] 3 firing", "[ALERTS] 3 reminders"]
    assert all(a["title"] == "[REMINDER] busy (critical)" for a in receiver.alerts()[3:])

    # Resolved (a higher threshold: nobody is that busy), then a day later: the resolution, and no reminder
    ticker.alerts = AlertTick(
        load_rules(_rules(tmp_path, threshold="100000", severity="critical"), NO_KPIS),
        ENGLISH,
        now=lambda: clock["now"],
    )
    assert run(ASSETS[2:], ticker.resources, str(MONDAY), str(MONDAY + timedelta(days=4)), ticker.instance).success
    ticker.tick()
    clock["now"] += timedelta(hours=48)
    ticker.tick()
    assert receiver.titles()[2:] == ["[ALERTS] 3 resolved"]


def test_a_silenced_alert_gets_no_reminder(tmp_path: Path, receiver: Receiver, simulator: RunningSimulator) -> None:
    receiver.start()
    start = datetime.combine(MONDAY + timedelta(days=5), datetime.min.time(), UTC)
    clock = {"now": start}
    ticker = _ticker(tmp_path, receiver, simulator, clock, severity="critical")
    ticker.tick()
    rules = load_rules(tmp_path / "alerts.yaml", NO_KPIS).model_copy(
        update={"silences": [Silence(rule="busy", company_id=101, until=MONDAY + timedelta(days=30))]}
    )
    ticker.alerts = AlertTick(rules, ENGLISH, now=lambda: clock["now"])
    clock["now"] = start + timedelta(hours=25)
    assert ticker.tick().silenced == 1
    assert receiver.titles() == ["[ALERTS] 3 firing", "[ALERTS] 2 reminders"]
    assert not any("ACME" in a["message"] for a in receiver.alerts()[3:])


def _rules(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "alerts2.yaml"
    path.write_text(RULES.format(**{"threshold": "0", "severity": "warning", "extra": "", **values}))
    return path


def test_five_hundred_alerts_of_one_tick_make_one_readable_message_per_channel(
    tmp_path: Path, receiver: Receiver
) -> None:
    """An instance admin's bad morning: 500 alerts at once. Each channel gets one message listing 50 of them (the
    most severe first) and saying where the rest are; every alert is marked delivered, so none comes again."""
    other = Receiver()
    receiver.start(), other.start()
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    day = MONDAY + timedelta(days=4)
    rows = [
        {"fingerprint": f"busy/{c}", "started_at": day, "rule_name": "busy", "severity": "info" if c > 10 else
         "critical", "asset": "adoption_satisfaction", "company_id": c, "company_name": f"Company {c}", "date": day,
         "metric": "sessions_count", "value": 5.0, "threshold": 0.0, "status": "firing", "notifications_sent": 0,
         "message": f"Company {c} ({c}): sessions_count = 5 above 0 on {day}"}
        for c in range(1, 501)
    ]  # fmt: skip
    with warehouse.engine.begin() as conn:
        conn.execute(alert_events.insert(), rows)
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES.format(threshold="0", severity="warning", extra=""))
    notifier = Notifier(urls=f"{receiver.url},{other.url}", ui_url="http://127.0.0.1:3999")
    clock = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    sensor = AlertTick(load_rules(path, NO_KPIS), ENGLISH, now=lambda: clock)
    ticker = Ticker(sensor, DagsterInstance.ephemeral(), {"warehouse": warehouse, "notifier": notifier})
    try:
        assert ticker.tick().sent == 500
        ticker.tick()
    finally:
        other.stop()
    for channel in (receiver, other):
        [message] = channel.messages
        assert message["title"] == "[ALERTS] 500 firing"
        alerts = channel.alerts()
        assert len(alerts) == 50 and all(a["title"] == "[FIRING] busy (critical)" for a in alerts[:10])
        last = message["message"].splitlines()[-1]
        assert last.startswith("... and 450 more: ") and "alert_events" in last
        assert "http://127.0.0.1:3999/assets/alert_events" in last
        assert len(message["message"]) < 12_000
    assert set(warehouse.read(alert_events)["notifications_sent"]) == {1}


TWO_RULES = """\
settings:
  notify_horizon_days: 30
  repeat_after_hours: {critical: 24}
rules:
  - name: busy
    asset: adoption_satisfaction
    metric: sessions_count
    condition: above
    threshold: 0
    severity: critical
    companies: all
  - name: busy_alone
    asset: adoption_satisfaction
    metric: sessions_count
    condition: above
    threshold: 0
    severity: critical
    companies: [101]
    group_notifications: false
"""


def test_each_alert_reaches_each_channel_once_when_one_channel_refuses_at_first(
    tmp_path: Path, receiver: Receiver, simulator: RunningSimulator
) -> None:
    """Two channels, one refusing its first two messages: each firing line and each reminder line reaches each
    channel exactly once, grouped or not; the healthy channel never gets a message twice."""
    flaky = Receiver(refuse=2)
    receiver.start(), flaky.start()
    path = tmp_path / "alerts.yaml"
    path.write_text(TWO_RULES)
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    notifier = Notifier(urls=f"{receiver.url},{flaky.url.replace('/alerts', '/flaky')}")
    resources = {"paradigm": simulator.resource(), "warehouse": warehouse, "notifier": notifier}
    start = datetime.combine(MONDAY + timedelta(days=5), datetime.min.time(), UTC)
    clock = {"now": start}
    ticker = Ticker(
        AlertTick(load_rules(path, NO_KPIS), ENGLISH, now=lambda: clock["now"]), DagsterInstance.ephemeral(), resources
    )
    try:
        assert run(ASSETS, resources, str(MONDAY), str(MONDAY + timedelta(days=4)), ticker.instance).success
        reports = [ticker.tick()]  # flaky refuses the group: retried in 1 minute
        for minutes in (2, 3, 5, 6):  # refused again (retried 2 minutes later), deferred, accepted, nothing left
            clock["now"] = start + timedelta(minutes=minutes)
            reports.append(ticker.tick())
        clock["now"] = start + timedelta(hours=24, minutes=7)  # reminders, to both channels at once
        reports += [ticker.tick(), ticker.tick()]
    finally:
        flaky.stop()
    assert flaky.refuse == 0 and reports[0].failed == 4 and reports[3].sent == 4
    expected = sorted(["[FIRING] busy (critical)"] * 3 + ["[FIRING] busy_alone (critical)"])
    reminders = sorted(["[REMINDER] busy (critical)"] * 3 + ["[REMINDER] busy_alone (critical)"])
    for channel in (receiver, flaky):
        titles = [a["title"] for a in channel.alerts()]
        assert sorted(t for t in titles if "FIRING" in t) == expected, titles
        assert sorted(t for t in titles if "REMINDER" in t) == reminders, titles
    assert len(receiver.messages) == len(flaky.messages) == 4  # a group and a lone alert, twice
    deliveries = warehouse.read(alert_deliveries)
    assert len(deliveries) == 2 * 8 and not deliveries.duplicated(["fingerprint", "transition", "channel"]).any()
    assert warehouse.count(alert_channels) == 0  # flaky works again: its failing streak is over
