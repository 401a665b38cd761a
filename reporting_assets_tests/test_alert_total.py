"""`companies: total`: one alert for all companies together, fingerprint `rule/total`, its rate recomputed from
the companies' summed numerators and denominators (never an average of their rates), on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from reporting_assets.alerts.rules import Rule
from reporting_assets.alerts.tick import evaluate
from reporting_assets.i18n import ENGLISH
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import adoption_satisfaction, alert_events

DAY = date(2025, 6, 2)
# (likes, dislikes) of companies 1 and 2 on three days. Day 1: rates 0.1 and 0.9 average 0.5, yet together
# 91 / 110 = 0.83; day 2: 6 / 20 = 0.3; day 3: 17 / 20 = 0.85.
FEEDBACK = [((1, 9), (90, 10)), ((1, 9), (5, 5)), ((8, 2), (9, 1))]


def _load(warehouse: Warehouse) -> None:
    rows = [
        {"date": DAY + timedelta(days=i), "company_id": c, "company_name": f"Co{c}", "likes_count": likes,
         "dislikes_count": dislikes, "satisfaction_rate": likes / (likes + dislikes)}
        for i, day in enumerate(FEEDBACK)
        for c, (likes, dislikes) in enumerate(day, start=1)
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    for column in adoption_satisfaction.columns:  # the other figures: 0, as the table wants every column
        if column.name not in frame:
            frame[column.name] = 0
    days = ledger.day_counts(frame, DAY, DAY + timedelta(days=2), None)
    loaded = ledger.entries("adoption_satisfaction", days, "test", datetime(2025, 7, 1, tzinfo=UTC))
    warehouse.replace(adoption_satisfaction, DAY, DAY + timedelta(days=2), frame, loaded=loaded)


def _rule(companies: str) -> Rule:
    return Rule(
        name=f"sat_{companies}", asset="adoption_satisfaction", metric="satisfaction_rate",
        condition="below", threshold=0.6, companies=companies,
    )  # fmt: skip


def test_a_total_rule_recomputes_the_rate_from_summed_parts(warehouse: Warehouse) -> None:
    _load(warehouse)
    evaluate(warehouse.engine, _rule("total"), DAY, ENGLISH)
    [episode] = warehouse.read(alert_events).to_dict("records")
    assert (episode["fingerprint"], episode["company_id"], episode["company_name"]) == (
        "sat_total/total",
        0,
        "All companies",
    )
    # From day 2, not day 1 (where the average of the companies' rates was 0.5), to day 3
    assert (episode["status"], episode["started_at"], episode["resolved_at"]) == (
        "resolved",
        DAY + timedelta(1),
        DAY + timedelta(2),
    )
    assert episode["value"] == pytest.approx(17 / 20)
    assert episode["message"].startswith("All companies: satisfaction_rate = 0.85")


def test_per_company_rules_still_see_each_company(warehouse: Warehouse) -> None:
    _load(warehouse)
    evaluate(warehouse.engine, _rule("all"), DAY, ENGLISH)
    fingerprints = set(warehouse.read(alert_events)["fingerprint"])
    assert fingerprints == {"sat_all/1", "sat_all/2"}  # company 1 from day 1, company 2 on day 2


def test_a_total_rule_needs_a_count_or_a_rate_it_can_rebuild() -> None:
    with pytest.raises(ValueError, match="companies: total needs a count"):
        Rule(name="r", asset="adoption_satisfaction", metric="satisfaction_rate_7d", condition="below",
             threshold=0.5, companies="total")  # fmt: skip
    assert Rule(name="r", asset="resource_usage", metric="usage_count", condition="above", threshold=5,
                companies="total").total  # fmt: skip
