"""The code location loads, with the asset graph and resources the contract promises."""

from __future__ import annotations

import importlib
import sys

import pytest
from dagster import AssetKey, BackfillPolicy, Definitions

RAW = ["chat_sessions", "chat_feedbacks", "tools_usage", "used_documents", "user_activities"]


def load_defs(monkeypatch, **env: str) -> Definitions:
    for name in ("PARADIGM_BASE_URL", "PARADIGM_API_KEY", "PARADIGM_COMPANY_ID", "REPORTING_DATABASE_URL"):
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
    assert set(defs.resources) == {"paradigm", "warehouse"}


def test_secrets_reach_the_resources_as_env_vars_not_values(monkeypatch):
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="https://p.example.com", PARADIGM_API_KEY="s3cret-value")
    assert "s3cret-value" not in repr(defs.resources["paradigm"])


def test_a_bad_company_id_fails_at_load_with_a_clear_message(monkeypatch):
    with pytest.raises(ValueError, match="PARADIGM_COMPANY_ID must be a company id"):
        load_defs(monkeypatch, PARADIGM_COMPANY_ID="acme")
