"""The code location loads, with the asset graph and resources the contract promises."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from dagster import AssetKey, AutomationCondition, BackfillPolicy, DefaultSensorStatus, Definitions

RAW = ["chat_sessions", "chat_feedbacks", "tools_usage", "used_documents", "user_activities"]


def load_defs(monkeypatch, **env: str) -> Definitions:
    unset = ("PARADIGM_API_KEY", "PARADIGM_COMPANY_ID", "REPORTING_DATABASE_URL", "REPORTING_ALERT_URLS")
    for name in ("PARADIGM_BASE_URL", *unset, "REPORTING_ALERT_RULES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for module in [m for m in sys.modules if m.startswith("reporting_assets.") or m == "reporting_assets"]:
        monkeypatch.delitem(sys.modules, module)
    return importlib.import_module("reporting_assets").defs


def test_definitions_load_with_the_five_raw_assets(monkeypatch):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo")
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    partitions = set()
    for name in RAW:
        node = graph.get(AssetKey(name))
        assert node.group_name == "paradigm_raw"
        assert defs.resolve_assets_def(name).op.pool == "paradigm_api"
        assert node.backfill_policy == BackfillPolicy.single_run()
        partitions.add(id(node.partitions_def))
    assert len(partitions) == 1  # one shared daily partitioning
    assert set(defs.resources) == {"paradigm", "warehouse", "notifier"}


def test_kpi_assets_follow_their_parents_and_read_trailing_windows(monkeypatch):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo")
    graph = defs.resolve_asset_graph()
    expected_parents = {
        "adoption_satisfaction": {"chat_sessions": -6, "chat_feedbacks": -6},
        "resource_usage": {"used_documents": 0, "tools_usage": 0},
        "user_activity": {"user_activities": -29, "chat_sessions": 0},
    }
    raw_partitions = graph.get(AssetKey("chat_sessions")).partitions_def
    for name, parents in expected_parents.items():
        node = graph.get(AssetKey(name))
        assert node.group_name == "paradigm_kpis"
        assert node.partitions_def == raw_partitions
        assert node.backfill_policy == BackfillPolicy.single_run()
        assert node.automation_condition == AutomationCondition.eager()
        assert {k.to_user_string() for k in node.parent_keys} == set(parents)
        for parent, offset in parents.items():
            mapping = graph.get_partition_mapping(AssetKey(name), AssetKey(parent))
            assert getattr(mapping, "start_offset", 0) == offset


def test_every_table_has_its_checks_and_raw_assets_a_freshness_check(monkeypatch):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo")
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    for name in [*RAW, "adoption_satisfaction", "resource_usage", "user_activity"]:
        assert {(name, "keys_unique"), (name, "counts_non_negative"), (name, "companies_continue")} <= checks
    assert {(name, "freshness_check") for name in RAW} <= checks
    assert ("chat_feedbacks", "feedback_within_responses") in checks
    assert ("user_activity", "rates_within_0_1") in checks
    sensors = {s.name: s.default_status for s in defs.sensors}
    assert sensors == dict.fromkeys(
        ["paradigm_automation", "freshness_checks_sensor", "kpi_alerts", "run_failure_alerts"],
        DefaultSensorStatus.RUNNING,
    )


def test_secrets_reach_the_resources_as_env_vars_not_values(monkeypatch):
    defs = load_defs(
        monkeypatch,
        PARADIGM_BASE_URL="https://p.example.com",
        PARADIGM_API_KEY="s3cret-value",
        REPORTING_ALERT_URLS="json://u:hook-s3cret@127.0.0.1:9/x",
    )
    assert "s3cret-value" not in repr(defs.resources["paradigm"])
    assert "hook-s3cret" not in repr(defs.resources["notifier"])


def test_an_invalid_rules_file_fails_at_load_naming_line_and_field(monkeypatch, tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - name: x\n    asset: adoption_satisfaction\n    metrc: sessions_count\n")
    with pytest.raises(ValueError, match=r"line 4: rules.0.metrc: unknown key"):
        load_defs(monkeypatch, REPORTING_ALERT_RULES=str(path))


def test_a_bad_company_id_fails_at_load_with_a_clear_message(monkeypatch):
    with pytest.raises(ValueError, match="PARADIGM_COMPANY_ID must be a company id"):
        load_defs(monkeypatch, PARADIGM_COMPANY_ID="acme")


@pytest.mark.parametrize(
    ("name", "value"), [("REPORTING_REFRESH_HOUR_UTC", "25"), ("REPORTING_FRESHNESS_HOUR_UTC", "nine")]
)
def test_a_bad_integer_setting_fails_at_load_naming_it(monkeypatch, name, value):
    with pytest.raises(ValueError, match=f"{name} must be an integer from 0 to 23, got '{value}'"):
        load_defs(monkeypatch, **{name: value})


def test_steps_fork_from_a_preloaded_server_unless_run_config_says_otherwise(monkeypatch):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo")
    module = importlib.import_module("reporting_assets.executor")
    assert defs.resolve_implicit_global_asset_job_def().executor_def is module.executor
    default = module._forkserver_by_default
    assert default({"multiprocess": {}}) == {"multiprocess": {"start_method": {"forkserver": {}}}}
    spawn = {"multiprocess": {"start_method": {"spawn": {}}, "max_concurrent": 1}}
    assert default(spawn) == spawn
    assert default({"in_process": {}}) == {"in_process": {}}


def test_loading_the_code_location_leaves_pandas_httpx_and_apprise_for_later():
    """Each would add to the start of every process that loads the code (docs/performance.md)."""
    code = "import sys, reporting_assets; print([m for m in ('pandas', 'httpx', 'apprise') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
