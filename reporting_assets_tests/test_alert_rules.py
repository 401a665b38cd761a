"""Alert rules: the shipped file loads, and every kind of mistake fails at load naming its line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reporting_assets.alerts.rules import RulesError, load_rules
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.settings import DEFAULT_RULES_PATH, Settings

VALID_RULE = """\
rules:
  - name: low_satisfaction
    asset: adoption_satisfaction
    metric: satisfaction_rate
    condition: below
    threshold: 0.6
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    return load_rules(path, NO_KPIS)


def test_shipped_rules_file_loads_with_its_documented_defaults() -> None:
    rules = load_rules(DEFAULT_RULES_PATH, NO_KPIS)
    assert rules.settings.notify_horizon_days == 3
    assert rules.settings.group_notifications is True and rules.settings.repeat_after_hours == {"critical": 24}
    assert (
        rules.repeat_hours("no_sessions", "critical") == 24
        and rules.repeat_hours("low_satisfaction", "warning") is None
    )
    assert {r.condition for r in rules.rules} == {"below", "drop_vs_mean", "no_data"}
    assert rules.silences == []


def test_environment_variable_picks_the_rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(VALID_RULE)
    monkeypatch.setenv("REPORTING_ALERT_RULES", str(path))
    assert [r.name for r in load_rules(Settings.load().reporting_alert_rules, NO_KPIS).rules] == ["low_satisfaction"]


def test_silences_cover_their_rule_company_and_days(tmp_path: Path) -> None:
    rules = _load(
        tmp_path,
        VALID_RULE + "silences:\n  - rule: low_satisfaction\n    company_id: 101\n    until: 2026-12-31\n",
    )
    assert rules.silenced("low_satisfaction", 101, date(2026, 12, 31))
    assert not rules.silenced("low_satisfaction", 101, date(2027, 1, 1))
    assert not rules.silenced("low_satisfaction", 102, date(2026, 6, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID_RULE + "    treshold: 0.5\n", "line 7: rules.0.treshold: unknown key (a typo?)"),
        (VALID_RULE.replace("satisfaction_rate", "happiness"), "line 2: rules.0: metric 'happiness' is not a figure"),
        (VALID_RULE.replace("condition: below", "condition: under"), "line 5: rules.0.condition: Input should be"),
        (VALID_RULE.replace("    threshold: 0.6\n", ""), "line 2: rules.0: threshold is required for condition below"),
        (VALID_RULE.replace("below", "drop_vs_mean"), "baseline_days is required for condition drop_vs_mean"),
        (VALID_RULE + "    baseline_days: 7\n", "baseline_days applies to drop_vs_mean and rise_vs_mean only"),
        (VALID_RULE.replace("adoption_satisfaction", "chat_sessions"), "asset 'chat_sessions' is not a KPI asset"),
        (
            VALID_RULE.replace("adoption_satisfaction", "resource_usage").replace("satisfaction_rate", "share"),
            "alerts add them up per company: metric 'share' is not a count",
        ),
        (VALID_RULE + VALID_RULE.replace("rules:\n", ""), "rule names must be unique: low_satisfaction"),
        (VALID_RULE + "silences:\n  - rule: nope\n    until: 2026-01-01\n", "silences name unknown rules: nope"),
        (VALID_RULE + "    for_days: 0\n", "line 7: rules.0.for_days: Input should be greater than or equal to 1"),
        (VALID_RULE + "    companies: [abc]\n", "line 7: rules.0.companies"),
        (VALID_RULE + "    repeat_after_hours: -1\n", "rules.0.repeat_after_hours: Input should be greater than"),
        ("settings:\n  repeat_after_hours: {urgent: 2}\n" + VALID_RULE, "settings.repeat_after_hours.urgent"),
        ("settings:\n  group_notification: true\n" + VALID_RULE, "settings.group_notification: unknown key"),
        ("rules:\n  - name: [unclosed\n", "line 3: not valid YAML"),
    ],
)
def test_invalid_rules_fail_at_load_naming_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(RulesError) as failure:
        _load(tmp_path, text)
    assert expected in str(failure.value)
    assert str(tmp_path / "alerts.yaml") in str(failure.value)


def test_missing_rules_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"nope\.yaml: cannot read the file"):
        load_rules(tmp_path / "nope.yaml", NO_KPIS)
