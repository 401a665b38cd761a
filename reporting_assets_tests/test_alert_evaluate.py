"""Rule evaluation on hand-made KPI frames: each condition kind, `for_days`, company scope, episodes."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from reporting_assets.alerts.evaluate import episodes
from reporting_assets.alerts.rules import Rule
from reporting_assets.i18n import ENGLISH

DAY0 = date(2026, 3, 2)


def _kpi(metric: str, series: dict[int, list[float | None]]) -> pd.DataFrame:
    """One row per company and day from DAY0 on; None leaves the day without a row."""
    rows = [
        {"date": DAY0 + timedelta(days=i), "company_id": company, "company_name": f"Co{company}", metric: value}
        for company, values in series.items()
        for i, value in enumerate(values)
        if value is not None
    ]
    return pd.DataFrame(rows)


def every_day(kpi: pd.DataFrame) -> pd.DataFrame:
    """A load ledger in which every day from DAY0 to the last row of `kpi` is loaded, for every company."""
    days = pd.date_range(DAY0, max(kpi["date"]), freq="D").date
    return pd.DataFrame({"date": days, "company_scope": pd.array([None] * len(days), dtype="Int64")})


def _episodes(rule: Rule, kpi: pd.DataFrame, loaded: pd.DataFrame | None = None) -> pd.DataFrame:
    return episodes(rule, kpi, every_day(kpi) if loaded is None else loaded, ENGLISH)


def _rule(**overrides: object) -> Rule:
    spec = {
        "name": "r",
        "asset": "adoption_satisfaction",
        "metric": "satisfaction_rate",
        "condition": "below",
        "threshold": 0.6,
    }
    return Rule(**{**spec, **overrides})


def _summary(frame: pd.DataFrame) -> list[tuple]:
    return [
        (r["company_id"], (r["started_at"] - DAY0).days, (r["date"] - DAY0).days, r["status"])
        for r in frame.to_dict("records")
    ]


def test_below_fires_after_for_days_and_resolves_on_the_first_good_day() -> None:
    kpi = _kpi("satisfaction_rate", {1: [0.8, 0.5, 0.5, 0.5, 0.9, 0.8]})
    found = _episodes(_rule(for_days=2), kpi)
    assert _summary(found) == [(1, 1, 4, "resolved")]
    [row] = found.to_dict("records")
    assert row["value"] == 0.9 and row["threshold"] == 0.6
    assert row["resolved_at"] == DAY0 + timedelta(days=4)
    assert row["fingerprint"] == "r/1"


def test_a_blip_shorter_than_for_days_is_forgotten_but_an_open_one_is_pending() -> None:
    kpi = _kpi("satisfaction_rate", {1: [0.8, 0.5, 0.9, 0.8, 0.5]})
    assert _summary(_episodes(_rule(for_days=2), kpi)) == [(1, 4, 4, "pending")]
    assert _summary(_episodes(_rule(for_days=1), kpi)) == [(1, 1, 2, "resolved"), (1, 4, 4, "firing")]


def test_undefined_rate_never_holds_a_comparison() -> None:
    kpi = _kpi("satisfaction_rate", {1: [0.5, float("nan"), 0.5]})
    assert _summary(_episodes(_rule(), kpi)) == [(1, 0, 1, "resolved"), (1, 2, 2, "firing")]


def test_above_compares_the_other_way() -> None:
    kpi = _kpi("sessions_count", {1: [5, 50, 5]})
    rule = _rule(metric="sessions_count", condition="above", threshold=10)
    assert _summary(_episodes(rule, kpi)) == [(1, 1, 2, "resolved")]


@pytest.mark.parametrize(("today", "fires"), [(40, True), (60, False)])
def test_drop_vs_mean_compares_with_the_trailing_mean_of_previous_days(today: float, fires: bool) -> None:
    kpi = _kpi("sessions_count", {1: [100, 100, 100, 100, today]})
    rule = _rule(metric="sessions_count", condition="drop_vs_mean", threshold=0.5, baseline_days=4)
    found = _episodes(rule, kpi)
    assert _summary(found) == ([(1, 4, 4, "firing")] if fires else [])
    if fires:
        assert found["threshold"].iloc[0] == 50.0 and "more than 50% below its 4-day mean" in found["message"].iloc[0]


def test_vs_mean_needs_a_full_baseline_and_a_positive_mean() -> None:
    rule = _rule(metric="sessions_count", condition="rise_vs_mean", threshold=1.0, baseline_days=3)
    assert _episodes(rule, _kpi("sessions_count", {1: [10, 10, 50]})).empty  # only 2 days of baseline
    assert _summary(_episodes(rule, _kpi("sessions_count", {1: [10, 10, 10, 50]}))) == [(1, 3, 3, "firing")]
    assert _episodes(rule, _kpi("sessions_count", {1: [0, 0, 0, 50]})).empty  # no mean to rise from


def test_no_data_counts_days_without_rows_while_other_companies_report() -> None:
    kpi = _kpi("sessions_count", {1: [5, 5, None, None, None, 5], 2: [7, 7, 7, 7, 7, 7]})
    rule = _rule(metric="sessions_count", condition="no_data", threshold=None, for_days=3)
    found = _episodes(rule, kpi)
    assert _summary(found) == [(1, 2, 5, "resolved")]
    assert found["message"].iloc[0] == (
        "Co1 (1): sessions_count = 5 on 2026-03-07, data again after none since 2026-03-04"
    )
    two_days = _episodes(rule, _kpi("sessions_count", {1: [5, 0, None], 2: [7, 7, 7]}))
    assert _summary(two_days) == [(1, 1, 2, "pending")]  # a zero counts as no data too


def test_companies_limit_the_scope_and_fingerprints_are_per_company() -> None:
    kpi = _kpi("satisfaction_rate", {1: [0.1, 0.1], 2: [0.1, 0.9], 3: [0.9, 0.9]})
    assert _summary(_episodes(_rule(), kpi)) == [(1, 0, 1, "firing"), (2, 0, 1, "resolved")]
    assert list(_episodes(_rule(companies=[2]), kpi)["fingerprint"]) == ["r/2"]


def test_rows_of_one_company_and_day_are_added_up() -> None:
    kpi = pd.DataFrame(
        {
            "date": [DAY0, DAY0, DAY0 + timedelta(days=1)],
            "company_id": [1, 1, 1],
            "company_name": ["Co1"] * 3,
            "usage_count": [3, 4, 9],
        }
    )
    rule = _rule(asset="resource_usage", metric="usage_count", condition="below", threshold=8)
    found = _episodes(rule, kpi)
    assert _summary(found) == [(1, 0, 1, "resolved")]
    assert found["value"].iloc[0] == 9


def test_same_rows_give_the_same_episodes() -> None:
    kpi = _kpi("satisfaction_rate", {1: [0.5, 0.9, 0.5], 2: [0.5, 0.5, 0.5]})
    pd.testing.assert_frame_equal(_episodes(_rule(), kpi), _episodes(_rule(), kpi.sample(frac=1, random_state=3)))


# --- only loaded days are evaluated ---------------------------------------------------------------------------


def ledger_days(first: int, last: int) -> pd.DataFrame:
    """A load ledger in which days DAY0+first..DAY0+last are loaded for every company."""
    days = [DAY0 + timedelta(days=i) for i in range(first, last + 1)]
    return pd.DataFrame({"date": days, "company_scope": pd.array([None] * len(days), dtype="Int64")})


NO_DATA = {"metric": "sessions_count", "condition": "no_data", "threshold": None, "for_days": 3}


def test_no_data_never_fires_on_days_that_were_not_loaded() -> None:
    kpi = _kpi("sessions_count", {1: [5, 5, 5], 2: [7, 7, 7]})
    # Days 3..9 exist as partitions (a backfill materialized them) but were never loaded: nothing fires.
    assert _episodes(_rule(**NO_DATA), kpi, ledger_days(0, 2)).empty


def test_no_data_fires_on_loaded_days_without_activity() -> None:
    kpi = _kpi("sessions_count", {1: [5, 5, 5], 2: [7, 7, 7, 7, 7, 7]})
    assert _summary(_episodes(_rule(**NO_DATA), kpi, ledger_days(0, 5))) == [(1, 3, 5, "firing")]


def test_a_firing_alert_neither_resolves_nor_moves_on_days_not_loaded() -> None:
    kpi = _kpi("satisfaction_rate", {1: [0.9, 0.1, 0.1]})
    firing = _summary(_episodes(_rule(for_days=2), kpi, ledger_days(0, 2)))
    assert firing == [(1, 1, 2, "firing")]
    kpi_later = _kpi("satisfaction_rate", {1: [0.9, 0.1, 0.1, None, None, None]})
    assert _summary(_episodes(_rule(for_days=2), kpi_later, ledger_days(0, 2))) == firing


def test_a_pending_alert_does_not_count_days_not_loaded() -> None:
    kpi = _kpi("sessions_count", {1: [5, 0, None, None, None]})
    assert _summary(_episodes(_rule(**NO_DATA), kpi, ledger_days(0, 1))) == [(1, 1, 1, "pending")]


def test_a_rolling_count_is_not_taken_as_zero_when_its_window_was_not_wholly_loaded() -> None:
    rule = _rule(metric="sessions_7d", condition="below", threshold=1, for_days=1)
    kpi = _kpi("sessions_7d", {1: [70] * 8, 2: [70] * 10})  # company 1 stops appearing on day 8
    loaded = ledger_days(0, 9)
    gap = loaded[loaded["date"] != DAY0 + timedelta(days=8)]
    # Days 8 and 9 loaded without company 1: its weekly total is really 0 only if the 7 days are all loaded.
    assert _summary(_episodes(rule, kpi, loaded)) == [(1, 8, 9, "firing")]
    assert _episodes(rule, kpi, gap).empty
