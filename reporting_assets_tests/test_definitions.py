"""The code location loads, with the asset graph and resources the contract promises."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    AutomationCondition,
    BackfillPolicy,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
)

from reporting_assets import executor as executor_module
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.definitions import build_definitions
from reporting_assets.settings import DEFAULT_RULES_PATH, Settings, SettingsError

RAW = ["chat_sessions", "chat_feedbacks", "tools_usage", "used_documents", "user_activities", "company_members"]
PACKAGE = Path(__file__).parents[1] / "reporting_assets"


def load_defs(monkeypatch, **env: str) -> Definitions:
    """The definitions Dagster would load with exactly these contract variables set."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return build_definitions(Settings.load())


def test_definitions_load_with_the_six_raw_assets(monkeypatch):
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
    assert set(defs.resources) == {"paradigm", "warehouse", "notifier", "digest_notifier"}


def test_kpi_assets_follow_their_parents_and_read_trailing_windows(monkeypatch):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo")
    graph = defs.resolve_asset_graph()
    expected_parents = {
        "adoption_satisfaction": {"chat_sessions": -6, "chat_feedbacks": -6},
        "resource_usage": {"used_documents": 0, "tools_usage": 0},
        "user_activity": {"user_activities": -29, "chat_sessions": 0, "company_members": 0},
    }
    raw_partitions = graph.get(AssetKey("chat_sessions")).partitions_def
    for name, parents in expected_parents.items():
        node = graph.get(AssetKey(name))
        assert node.group_name == "paradigm_kpis"
        assert node.partitions_def == raw_partitions
        assert node.backfill_policy == BackfillPolicy.single_run()
        optional = AssetSelection.assets(*(["company_members"] if name == "user_activity" else []))
        assert node.automation_condition == AutomationCondition.eager().ignore(optional)
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


def test_the_dashboard_and_the_digest_follow_the_settings(monkeypatch, tmp_path):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo", DAGSTER_HOME=str(tmp_path), REPORTING_DIGEST_HOUR_UTC="5")
    node = defs.resolve_asset_graph().get(AssetKey("usage_dashboard"))
    assert node.group_name == "paradigm_reports" and node.partitions_def is None
    assert {k.to_user_string() for k in node.parent_keys} == {
        "adoption_satisfaction",
        "resource_usage",
        "user_activity",
        "active_users_by_period",
    }
    assert str(tmp_path / "reports" / "usage_dashboard.html") in node.description
    schedule = defs.resolve_schedule_def("weekly_digest")
    assert (schedule.cron_schedule, schedule.job_name) == ("0 5 * * 1", "weekly_digest")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    # The digest's channels: the alerts' by default, their own when REPORTING_DIGEST_URLS is set (as EnvVar)
    alerts = "json://u:alert-s3cret@127.0.0.1:9/a"
    assert load_defs(monkeypatch, REPORTING_ALERT_URLS=alerts).resources["digest_notifier"].urls.env_var_name == (
        "REPORTING_ALERT_URLS"
    )
    own = load_defs(monkeypatch, REPORTING_ALERT_URLS=alerts, REPORTING_DIGEST_URLS="json://u:digest-s3cret@h/d")
    assert own.resources["digest_notifier"].urls.env_var_name == "REPORTING_DIGEST_URLS"
    assert "s3cret" not in repr(own.resources["digest_notifier"])


def test_alert_events_is_an_asset_downstream_of_the_kpis_its_rules_watch(monkeypatch):
    from reporting_assets.alerts.rules import load_rules

    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo")
    node = defs.resolve_asset_graph().get(AssetKey("alert_events"))
    assert node.group_name == "paradigm_alerts" and not node.is_materializable  # the sensor reports it
    watched = {rule.asset for rule in load_rules(DEFAULT_RULES_PATH, NO_KPIS).rules}
    assert watched and {k.to_user_string() for k in node.parent_keys} == watched


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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PARADIGM_COMPANY_ID", "acme", "valid integer"),
        ("PARADIGM_START_DATE", "2025-13-01", "valid date"),
        ("REPORTING_REFRESH_HOUR_UTC", "25", "less than or equal to 23"),
        ("REPORTING_FRESHNESS_HOUR_UTC", "nine", "valid integer"),
        ("REPORTING_REFETCH_DAYS", "-1", "greater than or equal to 0"),
        ("REPORTING_ALERT_RULES", "/nowhere/alerts.yaml", "no such file"),
        ("REPORTING_ALERT_URLS", "slack://ok/a/b, not-a-url-s3cret", "entry #2 is not a URL"),
        ("REPORTING_DIGEST_URLS", "not-a-url-s3cret", "entry #1 is not a URL"),
        ("REPORTING_DIGEST_HOUR_UTC", "24", "less than or equal to 23"),
        ("REPORTING_REPORTS_URL", "reports.example.org", "should match pattern"),
    ],
)
def test_every_invalid_setting_fails_the_load_naming_its_variable(monkeypatch, name, value, message):
    with pytest.raises(SettingsError) as failure:
        load_defs(monkeypatch, **{name: value})
    assert f"{name}: " in str(failure.value) and message in str(failure.value)
    assert "s3cret" not in str(failure.value)  # a URL list is a secret: never quoted


def test_importing_any_module_reads_no_setting():
    """A broken setting only matters when the code location is built: the simulator still starts."""
    env = {"REPORTING_ALERT_RULES": "/nowhere.yaml", "REPORTING_REFRESH_HOUR_UTC": "99", "PATH": "/usr/bin:/bin"}
    code = "import reporting_assets.simulator.data, reporting_assets.definitions, reporting_assets.simulator.app"
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, check=True)
    built = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "import reporting_assets.definitions as d; d.defs()"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert built.returncode != 0 and "REPORTING_REFRESH_HOUR_UTC: " in built.stderr


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    names = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return names | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("paradigm", ("reporting_assets.simulator", "reporting_assets.assets", "reporting_assets.definitions")),
        ("simulator", ("reporting_assets.paradigm", "reporting_assets.assets", "reporting_assets.warehouse")),
        ("warehouse", ("reporting_assets.assets", "reporting_assets.alerts", "reporting_assets.paradigm")),
        ("reports", ("reporting_assets.simulator", "reporting_assets.paradigm", "reporting_assets.assets")),
        ("alerts", tuple(f"reporting_assets.{m}" for m in ("simulator", "paradigm", "assets", "reports", "doctor"))),
        ("alerts", ("reporting_assets.definitions",)),
        ("users", tuple(f"reporting_assets.{m}" for m in ("simulator", "paradigm", "assets", "reports", "alerts"))),
        ("users", ("reporting_assets.definitions", "reporting_assets.doctor")),
        (
            "bi",
            tuple(f"reporting_assets.{m}" for m in ("simulator", "paradigm", "assets", "alerts", "users", "doctor")),
        ),
        ("bi", ("reporting_assets.definitions",)),
    ],
)
def test_layers_import_only_what_they_may(layer, forbidden):
    for module in (PACKAGE / layer).rglob("*.py"):
        bad = sorted(name for name in _imports(module) if name.startswith(forbidden))
        assert not bad, f"{module.relative_to(PACKAGE)} imports {bad}"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_of_ours_imports_itself_back_through_others():
    """Every import counts, those inside functions too: a cycle is found however it is spelled."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        found |= {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        graph[name] = sorted(m for m in found if m in modules and m != name and not name.startswith(f"{m}."))

    def cycle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for c in map(cycle_from, sorted(graph)) if c]
    assert cycles == [], cycles


def test_steps_fork_from_a_preloaded_server_unless_run_config_says_otherwise(monkeypatch):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo")
    module = executor_module
    assert defs.resolve_implicit_global_asset_job_def().executor_def is module.executor
    default = module._forkserver_by_default
    assert default({"multiprocess": {}}) == {"multiprocess": {"start_method": {"forkserver": {}}}}
    spawn = {"multiprocess": {"start_method": {"spawn": {}}, "max_concurrent": 1}}
    assert default(spawn) == spawn
    assert default({"in_process": {}}) == {"in_process": {}}


def test_loading_the_code_location_leaves_pandas_httpx_and_apprise_for_later():
    """Each would add to the start of every process that loads the code (docs/performance.md)."""
    code = "import sys, reporting_assets.definitions as d; d.defs(); "
    code += "print([m for m in ('pandas', 'httpx', 'apprise') if m in sys.modules])"
    env = {"PARADIGM_BASE_URL": "demo", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_demo_mode_is_chosen_at_assembly_and_answers_in_process(monkeypatch):
    from datetime import date

    from reporting_assets.paradigm.endpoints import ENDPOINTS

    paradigm = load_defs(monkeypatch, PARADIGM_BASE_URL="demo").resources["paradigm"]
    fetched = paradigm.fetch(ENDPOINTS["chat_sessions"], date(2025, 3, 3), date(2025, 3, 4))
    # a first window of one day (rows per day unknown), then the other day: sized by it
    assert fetched.requests == 2 and set(fetched.frame["company_id"]) == {101, 102, 103}
    real = load_defs(monkeypatch, PARADIGM_BASE_URL="https://p.example.com").resources["paradigm"]
    assert real.transport() is None  # the real API: the network


def test_dg_check_defs_loads_the_project(tmp_path):
    """The project is a `dg` project (`[tool.dg]` in pyproject.toml) whose definitions load and validate."""
    dg = Path(sys.executable).parent / "dg"
    env = {"PARADIGM_BASE_URL": "demo", "PATH": f"{dg.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([str(dg), "check", "defs"], cwd=PACKAGE.parent, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "All definitions loaded successfully" in out.stdout + out.stderr, out.stderr[-2000:]


WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns"), ("Timestamp", "now"), ("Timestamp", "today")}  # fmt: skip


def _wall_clock_reads(tree: ast.AST) -> list[int]:
    """Lines calling the wall clock (`datetime.now()`, `date.today()`, `time.time()`, ...), however qualified."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (getattr(node.func.value, "id", None) or getattr(node.func.value, "attr", None), node.func.attr)
        in WALL_CLOCK
    ]


def test_the_wall_clock_is_read_in_clock_py_only():
    """Everything else takes a clock (`reporting_assets.clock`), so that a test can pin the day it runs on; a duration
    uses a monotonic clock (`time.perf_counter`, `time.monotonic`), which is not the wall clock."""
    reads = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if path.name != "clock.py" and (lines := _wall_clock_reads(ast.parse(path.read_text())))
    }
    assert reads == {}
    planted = ast.parse("import datetime as dt\nfrom datetime import UTC, date, datetime\nx = dt.datetime.now(UTC)\n"
                        "y = date.today()\nz = time.time()\nw = time.monotonic()\n")  # fmt: skip
    assert _wall_clock_reads(planted) == [3, 4, 5]  # the check itself finds them, and not the monotonic clock
