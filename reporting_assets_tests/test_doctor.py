"""`python -m reporting_assets.doctor` against the simulator over HTTP: every check passes on a good setup, and each
fault gives its ✗ line with an actionable message and a non-zero exit; the token is never printed or saved."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reporting_assets.alerts import deliveries
from reporting_assets.alerts.notify import Notifier
from reporting_assets.doctor import checks as doctor
from reporting_assets.doctor import cli
from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.settings import Settings
from reporting_assets.simulator.faults import Fault
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import alert_channels
from reporting_assets_tests.conftest import TOKEN, RunningSimulator
from reporting_assets_tests.receiver import SECRET, Receiver


def _env(monkeypatch, tmp_path: Path, **env: str) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("REPORTING_DATABASE_URL", f"sqlite:///{tmp_path / 'reporting.db'}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)


CHECKS = doctor.checks


def _doctor(monkeypatch, capsys, *args: str) -> tuple[int, list[doctor.Check], str]:
    """The command's exit code, the checks it ran (what the tests assert on) and what it printed (their lines, as
    `Check.line` formats them, and the summary)."""
    found: list[doctor.Check] = []
    monkeypatch.setattr(cli, "checks", lambda **kwargs: found.extend(CHECKS(**kwargs)) or found)
    code = cli.main(["--day", "2025-03-03", *args])
    out = capsys.readouterr()
    printed = out.out + out.err
    lines = [c.line(doctor.language()) for c in found]  # in REPORTING_LANGUAGE's
    assert printed.splitlines()[:-1] == lines  # the printer formats the results, no more
    return code, found, printed


def _check(found: list[doctor.Check], name: str) -> doctor.Check:
    [check] = [c for c in found if c.name == name]
    return check


def test_a_good_setup_passes_every_check_sends_a_test_message_and_saves_redacted_samples(
    monkeypatch, tmp_path, capsys, simulator: RunningSimulator, receiver: Receiver
) -> None:
    receiver.start()
    _env(
        monkeypatch,
        tmp_path,
        PARADIGM_BASE_URL=simulator.url,
        PARADIGM_API_KEY=TOKEN,
        REPORTING_ALERT_URLS=receiver.url,
    )
    samples = tmp_path / "samples"
    code, found, out = _doctor(monkeypatch, capsys, "--test-notification", "--save-samples", str(samples))
    assert code == 0 and all(c.ok for c in found), out
    endpoints = [e.path for e in ENDPOINTS.values()]
    assert [c.name for c in found] == [
        "settings", "alert rules", "custom KPIs", "API", *endpoints, "warehouse", "loads", "org data", "BI contract",
        "reports",
        "pseudonymisation", "retention", "per-user lists", "REPORTING_ALERT_URLS",
    ]  # fmt: skip
    assert _check(found, "BI contract").detail.startswith("not published yet: materialize bi_contract")
    assert _check(found, "per-user lists").detail.startswith("on: the dashboard lists the most engaged")
    assert _check(found, "custom KPIs").detail == "none (REPORTING_KPIS is unset)"
    assert _check(found, "org data").detail == "none (REPORTING_ORG_DATA is unset)"
    assert _check(found, "pseudonymisation").detail.startswith("off: user ids stored as the API gives them")
    assert _check(found, "retention").detail == "per-user rows kept without limit (REPORTING_USER_RETENTION_DAYS)"
    # setup, not an incident
    assert _check(found, "loads").detail == "nothing loaded yet: run a backfill or wait for daily_refresh"
    assert out.splitlines()[-1] == f"{len(found)} passed, 0 failed: ready for a first run"
    assert [m["title"] for m in receiver.messages] == ["[TEST] paradigm-reporting doctor: test notification"]
    saved = {p.name: p.read_text() for p in samples.iterdir()}
    assert len(saved) == 6 and '"reporting"' in saved["chat-sessions.json"]
    for text in [out, *saved.values()]:
        assert TOKEN not in text and SECRET not in text
    assert not any("ACME" in text or "101" in text or "code_of_conduct" in text for text in saved.values())


def test_the_demo_passes(monkeypatch, tmp_path, capsys) -> None:
    _env(monkeypatch, tmp_path, PARADIGM_BASE_URL="demo")
    code, found, out = _doctor(monkeypatch, capsys)
    assert code == 0 and all(c.ok for c in found), out
    assert "the demo simulator answered, token accepted" in _check(found, "API").detail


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CASES = {
    "bad_token": ({"PARADIGM_API_KEY": "wrong-token"}, None, "API", "the token was rejected (401)"),
    "unreachable": ({"PARADIGM_BASE_URL": "closed"}, None, "API", "is the API up?"),
    "malformed": ({}, Fault("malformed", endpoint="tools"), "/api/v2/reporting/tools/", "not valid JSON"),
    "missing_field": (
        {},
        Fault("missing_field", field="likes_count", endpoint="chats-feedback"),
        "/api/v2/reporting/chats-feedback/",
        "fields missing from every row for 2025-03-03: likes_count",
    ),
    "bad_channel": ({"REPORTING_ALERT_URLS": "nosuchscheme://x/y"}, None, "REPORTING_ALERT_URLS", "not a valid"),
    "bad_settings": ({"REPORTING_DIGEST_HOUR_UTC": "31"}, None, "settings", "REPORTING_DIGEST_HOUR_UTC"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_fault_is_named_with_its_cause_and_fails_the_exit_code(
    case: str, monkeypatch, tmp_path, capsys, simulator: RunningSimulator
) -> None:
    env, fault, name, cause = CASES[case]
    base = {"PARADIGM_BASE_URL": simulator.url, "PARADIGM_API_KEY": TOKEN}
    if env.get("PARADIGM_BASE_URL") == "closed":
        env = {**env, "PARADIGM_BASE_URL": f"http://127.0.0.1:{_closed_port()}"}
    _env(monkeypatch, tmp_path, **{**base, **env})
    if fault:
        simulator.sim.faults.add(fault)
    code, found, out = _doctor(monkeypatch, capsys)
    [failed] = [c for c in found if not c.ok]
    assert code == 1 and failed.name == name and cause in failed.detail, out
    assert TOKEN not in out and "wrong-token" not in out


def test_the_doctor_job_runs_the_same_checks_from_the_ui(monkeypatch, tmp_path) -> None:
    from reporting_assets.definitions import build_definitions

    _env(monkeypatch, tmp_path, PARADIGM_BASE_URL="demo")
    job = build_definitions(Settings.load()).resolve_job_def("doctor")
    assert job.execute_in_process().success
    monkeypatch.setenv("REPORTING_ALERT_URLS", "nosuchscheme://x/y")
    failed = job.execute_in_process(raise_on_error=False)
    assert not failed.success


def test_an_alert_channel_refusing_for_a_day_is_a_failure(monkeypatch, tmp_path, capsys, receiver: Receiver) -> None:
    """The kpi_alerts sensor records refusals in `alert_channels`; a streak of 24 hours or more is a ✗."""
    _env(monkeypatch, tmp_path, PARADIGM_BASE_URL="demo", REPORTING_ALERT_URLS=receiver.url)
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    [channel] = Notifier(urls=receiver.url).channels()
    now = datetime.now(UTC)
    deliveries.refused(warehouse.engine, channel.key, now - timedelta(hours=23))
    code, found, out = _doctor(monkeypatch, capsys)
    assert code == 0 and _check(found, "REPORTING_ALERT_URLS").ok, out  # 23 hours: retried with backoff, not reported
    with warehouse.engine.begin() as conn:
        conn.execute(alert_channels.update().values(failing_since=now - timedelta(hours=25)))
    code, found, out = _doctor(monkeypatch, capsys)
    channel = _check(found, "REPORTING_ALERT_URLS")
    assert code == 1 and not channel.ok and channel.detail.startswith("json://user:****@"), out
    assert "has refused every alert" in channel.detail and SECRET not in out


def test_a_warehouse_that_cannot_be_read_is_a_failure_line_never_off_nor_no_refusal(
    monkeypatch, tmp_path, capsys, receiver: Receiver
) -> None:
    """A file that is not a database: the warehouse, pseudonymisation and the channels' refusals each say they could
    not tell, with the error's kind, instead of "off" or a pass."""
    _env(monkeypatch, tmp_path, PARADIGM_BASE_URL="demo", REPORTING_ALERT_URLS=receiver.url)
    (tmp_path / "reporting.db").write_bytes(b"not a database " * 100)
    code, found, out = _doctor(monkeypatch, capsys)
    assert code == 1 and not _check(found, "warehouse").ok, out
    privacy = _check(found, "pseudonymisation")
    assert not privacy.ok and privacy.detail.startswith("could not tell whether stored user ids are pseudonyms: ")
    assert "DatabaseError" in privacy.detail and "off" not in privacy.detail
    channels = [c for c in found if c.name == "REPORTING_ALERT_URLS"]
    assert [c.ok for c in channels] == [False, True], out  # unknown refusals: a ✗, then the URL's own check
    assert channels[0].detail.startswith("could not tell whether a channel refuses notifications: DatabaseError")


def test_the_doctor_says_whether_user_ids_are_pseudonymised_and_refuses_a_changed_key(
    monkeypatch, tmp_path, capsys
) -> None:
    from reporting_assets.users import pseudonyms

    key, other = "doctor-test-key-0123456789", "doctor-other-key-0123456789"
    _env(monkeypatch, tmp_path, PARADIGM_BASE_URL="demo", REPORTING_USER_ID_KEY=key, REPORTING_USER_RETENTION_DAYS="90")
    code, found, out = _doctor(monkeypatch, capsys)
    privacy = _check(found, "pseudonymisation")
    assert code == 0 and privacy.ok and privacy.detail.startswith("on (REPORTING_USER_ID_KEY): raw ids stored before")
    assert _check(found, "retention").detail == "per-user rows kept 90 days, then deleted by user_data_retention"
    pseudonyms.ensure(Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}").engine, key)
    code, found, out = _doctor(monkeypatch, capsys)
    assert code == 0 and "stored ids made with this key since" in _check(found, "pseudonymisation").detail, out
    monkeypatch.setenv("REPORTING_USER_ID_KEY", other)
    code, found, out = _doctor(monkeypatch, capsys)
    [failed] = [c for c in found if not c.ok]
    assert code == 1 and failed.name == "pseudonymisation" and pseudonyms.RESET in failed.detail, out
    assert key not in out and other not in out


def test_the_doctor_speaks_the_readers_language(
    monkeypatch, capsys, tmp_path: Path, simulator: RunningSimulator, receiver: Receiver
) -> None:
    """REPORTING_LANGUAGE=de: every line in German (the checks' names too; an endpoint's path or a variable's name
    stays), a number in German form, no English message of ours left."""
    from reporting_assets_tests.messages import english_left

    receiver.start()
    _env(monkeypatch, tmp_path, PARADIGM_BASE_URL=simulator.url, PARADIGM_API_KEY=TOKEN, REPORTING_LANGUAGE="de",
         REPORTING_ALERT_URLS=receiver.url)  # fmt: skip
    code, found, out = _doctor(monkeypatch, capsys, "--test-notification")
    assert code == 0 and all(c.ok for c in found), out
    assert _check(found, "settings").detail == "alle Variablen gültig"
    assert _check(found, "loads").detail.startswith("noch nichts geladen")
    assert _check(found, "REPORTING_ALERT_URLS").detail.startswith("Testnachricht von ")
    assert receiver.messages[0]["message"] == "Eine Testnachricht: dieser Kanal funktioniert."
    assert receiver.messages[0]["title"] == "[TEST] paradigm-reporting-Diagnose: Testbenachrichtigung"
    assert "✓ Listen pro Nutzer: " in out and "per-user" not in out
    api = _check(found, "API").detail  # "… hat geantwortet, Token akzeptiert (0,05 s)": a German decimal comma
    assert "hat geantwortet" in api and "," in api.rsplit("(", 1)[1]
    words = re.sub(r"\S*[/=]\S*", "", out)  # endpoints' paths, directories, URLs: data
    assert not english_left(words, "de"), english_left(words, "de")
    assert "✓ Einstellungen: alle Variablen gültig" in out and "✓ REPORTING_ALERT_URLS: Testnachricht" in out
    assert out.splitlines()[-1].endswith("bestanden, 0 fehlgeschlagen: bereit für einen ersten Lauf")
