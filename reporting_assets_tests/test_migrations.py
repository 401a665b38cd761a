"""Schema migrations on SQLite and PostgreSQL: a warehouse of the previous release, with data, upgrades in place
without losing a row (and gets its load ledger); the models and the migrations describe the same schema."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import ENGLISH
from reporting_assets.warehouse import migrate
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import load_log, metadata, used_documents
from reporting_assets_tests.receiver import Receiver

NOW = datetime(2025, 2, 1, tzinfo=UTC)
ROWS = [
    {"date": date(2025, 1, d), "company_id": c, "company_name": f"Co{c}", "ingested_at": NOW, "document_id": k}
    for d in (6, 7, 9)
    for c in (1, 2)
    for k in (1, 2, 3)
]


def _previous_release(url: str, *, versioned: bool) -> None:
    """The schema of revision 0001, with rows; without `alembic_version` as the release before migrations."""
    engine = sa.create_engine(url)
    assert migrate.upgrade(engine, "0001") == "0001"
    with engine.begin() as conn:
        conn.execute(used_documents.insert(), ROWS)
        if not versioned:
            conn.execute(sa.text("DROP TABLE alembic_version"))
    engine.dispose()


@pytest.mark.parametrize("versioned", [True, False], ids=["revision_0001", "before_migrations"])
def test_a_previous_release_warehouse_upgrades_in_place_without_losing_a_row(warehouse: Warehouse, versioned: bool):
    _previous_release(warehouse.url, versioned=versioned)
    assert warehouse.count(used_documents) == len(ROWS)  # first use: upgraded to the latest revision
    with warehouse.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    pd_rows = warehouse.read(used_documents)
    assert sorted(zip(pd_rows["date"], pd_rows["company_id"], pd_rows["document_id"], strict=True)) == sorted(
        (r["date"], r["company_id"], r["document_id"]) for r in ROWS
    )
    # The ledger derived from the days the raw table holds: each of them loaded, for every company.
    entries = warehouse.read(load_log)
    assert entries[["asset", "date", "rows"]].values.tolist() == [
        ["used_documents", date(2025, 1, 6), 6],
        ["used_documents", date(2025, 1, 7), 6],
        ["used_documents", date(2025, 1, 9), 6],
    ]
    assert set(entries["run_id"]) == {"upgrade"} and entries["company_scope"].isna().all()
    assert migrate.upgrade(warehouse.engine) == migrate.head()  # idempotent
    assert len(warehouse.read(load_log)) == 3


def test_the_models_and_the_migrations_describe_the_same_schema(warehouse: Warehouse):
    migrate.upgrade(warehouse.engine)
    with warehouse.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_the_upgrade_command_upgrades_a_warehouse_and_names_its_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    command = [sys.executable, "-W", "ignore", "-m", "reporting_assets.warehouse.migrate", "--url", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert f"schema at revision {migrate.head()} (latest)" in out
    assert sa.inspect(sa.create_engine(url)).has_table("load_log")


def test_a_0002_warehouse_with_kpi_rows_gets_members_and_adoption_without_losing_a_row(warehouse: Warehouse):
    from reporting_assets.warehouse.tables import company_members, user_activity

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0002") == "0002"
    old = sa.table(  # user_activity as revision 0002 has it: no adoption_rate
        "user_activity", *(sa.column(c.name) for c in user_activity.columns if c.name != "adoption_rate")
    )
    rows = [
        {"date": date(2025, 1, d), "company_id": 1, "company_name": "Co1", "active_users": d, "active_users_30d": 40}
        for d in (1, 2, 3)
    ]
    with engine.begin() as conn:
        conn.execute(old.insert(), rows)
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    kept = warehouse.read(user_activity)
    assert kept[["date", "active_users", "active_users_30d"]].values.tolist() == [
        [r["date"], r["active_users"], r["active_users_30d"]] for r in rows
    ]
    assert kept["adoption_rate"].isna().all()  # unknown until recomputed with a members snapshot
    assert warehouse.count(company_members) == 0


def test_a_0003_warehouse_with_alerts_gets_per_channel_deliveries_without_resending(warehouse: Warehouse):
    """Episodes notified before 0004 keep their bookkeeping: nothing is owed again, and deliveries start empty."""
    from reporting_assets.warehouse.tables import alert_channels, alert_deliveries, alert_events

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0003") == "0003"
    episode = {
        "fingerprint": "low/1", "started_at": date(2025, 1, 2), "rule_name": "low", "severity": "warning",
        "asset": "adoption_satisfaction", "company_id": 1, "company_name": "Co1", "date": date(2025, 1, 4),
        "metric": "satisfaction_rate", "value": 0.2, "threshold": 0.5, "status": "firing",
        "last_notified_at": NOW, "notifications_sent": 1, "message": "Co1 (1): satisfaction_rate = 0.2",
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.table("alert_events", *(sa.column(k) for k in episode)).insert(), [episode])
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    [kept] = warehouse.read(alert_events).to_dict("records")
    assert (kept["fingerprint"], kept["status"], kept["notifications_sent"]) == ("low/1", "firing", 1)
    assert warehouse.count(alert_deliveries) == 0 and warehouse.count(alert_channels) == 0


def test_a_0004_warehouse_with_user_rows_gets_per_user_tables_and_64_bit_ids_without_losing_a_row(
    warehouse: Warehouse,
):
    """User rows and ledger days written at 0004 stay as they are (raw ids, not purged); a pseudonym (63 bits)
    then fits in `user_id` on every database."""
    from reporting_assets.warehouse.tables import pseudonymisation, retention_cohorts, user_activities, user_engagement

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0004") == "0004"
    rows = [
        {"date": date(2025, 1, d), "company_id": 1, "company_name": "Co1", "ingested_at": NOW, "user_id": u,
         "sessions_count": d, "queries_count": 2 * d}
        for d in (1, 2)
        for u in (4501, 4502)
    ]  # fmt: skip
    day = {"asset": "user_activities", "loaded_at": NOW, "rows": 2, "run_id": "r"}
    with engine.begin() as conn:
        conn.execute(sa.table("user_activities", *(sa.column(k) for k in rows[0])).insert(), rows)
        conn.execute(
            sa.table("load_log", *(sa.column(k) for k in ("date", *day))).insert(),
            [{"date": date(2025, 1, d), **day} for d in (1, 2)],
        )
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    kept = warehouse.read(user_activities)
    assert kept[["date", "user_id", "sessions_count"]].values.tolist() == [
        [r["date"], r["user_id"], r["sessions_count"]] for r in rows
    ]
    assert warehouse.read(load_log)["purged_at"].isna().all() and len(warehouse.read(load_log)) == 2
    assert warehouse.count(pseudonymisation) == 0  # raw ids, as before
    assert warehouse.count(user_engagement) == 0 and warehouse.count(retention_cohorts) == 0
    big = {**rows[0], "date": date(2025, 1, 3), "user_id": 2**63 - 1}
    with warehouse.engine.begin() as conn:
        conn.execute(user_activities.insert(), [big])
    assert warehouse.read(user_activities)["user_id"].max() == 2**63 - 1


def test_a_0005_warehouse_s_digests_move_to_the_deliveries_and_are_not_sent_again(
    warehouse: Warehouse, receiver: Receiver
):
    """Revision 0006: the digests `digest_log` recorded become deliveries, so the week a channel has is not sent to
    it again after the upgrade; a week it lacks is."""
    from dagster import DagsterInstance

    from reporting_assets.alerts.notify import Notifier
    from reporting_assets.reports.weekly_digest import build_weekly_digest
    from reporting_assets.warehouse.tables import alert_deliveries

    notifier = Notifier(urls=receiver.url)
    [channel] = notifier.channels()
    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0005") == "0005"
    log = sa.table("digest_log", *(sa.column(c) for c in ("week", "channel", "sent_at", "run_id")))
    with engine.begin() as conn:
        conn.execute(log.insert(), [{"week": "2025-W07", "channel": channel.key, "sent_at": NOW, "run_id": "r1"}])
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    assert not sa.inspect(warehouse.engine).has_table("digest_log")
    moved = warehouse.read(alert_deliveries)
    assert moved[["fingerprint", "started_at", "transition", "channel"]].values.tolist() == [
        ["weekly_digest/2025-W07", date(2025, 2, 10), "digest", channel.key]
    ]
    receiver.start()
    job, _ = build_weekly_digest(7, None, ENGLISH, NO_KPIS, now=lambda: NOW)
    for week in ("2025-W07", "2025-W08"):
        config = {"ops": {"send_weekly_digest": {"config": {"week": week}}}}
        resources = {"warehouse": warehouse, "digest_notifier": notifier}
        assert job.execute_in_process(config, instance=DagsterInstance.ephemeral(), resources=resources).success
    assert [m["title"].split(":")[0] for m in receiver.messages] == [receiver.messages[0]["title"].split(":")[0]]
    assert "2025-W08" in receiver.messages[0]["title"]  # the week it lacked, and that one only


def test_a_0006_warehouse_gets_the_formulas_of_metrics_as_comments_without_losing_a_row(warehouse: Warehouse):
    """Revision 0007: the KPI tables' comments of rates and averages are `metrics.py`'s formulas (PostgreSQL keeps
    comments; on SQLite the upgrade changes nothing), and the rows stay."""
    from reporting_assets.metrics import RATIOS
    from reporting_assets.warehouse.tables import adoption_satisfaction

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0006") == "0006"
    row = {
        "date": date(2025, 1, 1),
        "company_id": 1,
        "company_name": "Co1",
        "likes_count": 3,
        "satisfaction_rate": 0.75,
    }
    with engine.begin() as conn:
        conn.execute(adoption_satisfaction.insert(), [row])
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    kept = warehouse.read(adoption_satisfaction)
    assert kept[["company_id", "likes_count", "satisfaction_rate"]].values.tolist() == [[1, 3, 0.75]]
    if warehouse.engine.dialect.name == "postgresql":
        comments = {c["name"]: c["comment"] for c in sa.inspect(warehouse.engine).get_columns("adoption_satisfaction")}
        assert comments["satisfaction_rate"] == f"{RATIOS['satisfaction_rate'].formula}; NULL when undefined"
        assert comments["queries_per_session"].startswith("user_queries_count / sessions_count")


def test_a_0007_warehouse_with_user_rows_gets_people_per_period_without_losing_a_row(warehouse: Warehouse):
    """Revision 0008: `active_users_by_period`, created empty beside the per-user rows of 0007 (kept); the asset
    then counts the periods from them."""
    from reporting_assets.assets.periods import refresh
    from reporting_assets.warehouse.tables import active_users_by_period, user_activities

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0007") == "0007"
    assert not sa.inspect(engine).has_table("active_users_by_period")
    rows = [
        {"date": date(2025, 1, d), "company_id": 1, "company_name": "Co1", "ingested_at": NOW, "user_id": u,
         "sessions_count": 1, "queries_count": 2}
        for d in (6, 7, 13)
        for u in ((10, 11) if d < 13 else (11, 12))
    ]  # fmt: skip
    day = {"asset": "user_activities", "loaded_at": NOW, "rows": 2, "run_id": "r"}
    with engine.begin() as conn:
        conn.execute(sa.table("user_activities", *(sa.column(k) for k in rows[0])).insert(), rows)
        conn.execute(
            sa.table("load_log", *(sa.column(k) for k in ("date", *day))).insert(),
            [{"date": date(2025, 1, d), **day} for d in (6, 7, 13)],
        )
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    assert warehouse.count(user_activities) == len(rows) and warehouse.count(active_users_by_period) == 0
    refresh(warehouse, date(2025, 1, 6), date(2025, 1, 13), budget=1_000)
    stored = warehouse.read(active_users_by_period).set_index(["grain", "period_start"])
    assert stored.loc[("month", date(2025, 1, 1)), "active_users"] == 3  # users 10, 11 and 12: 3 people
    assert stored.loc[("week", date(2025, 1, 6)), ["active_users", "days_loaded"]].tolist() == [2, 2]


def test_a_0008_warehouse_with_user_rows_gets_the_erasure_record_without_losing_a_row(warehouse: Warehouse):
    """Revision 0009: `erased_users` and `erasure_key`, created empty beside the per-user rows of 0008 (kept);
    `forget` then records an erasure there, and deletes only that user's rows."""
    from reporting_assets.users import privacy
    from reporting_assets.warehouse.tables import erased_users, user_activities

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0008") == "0008"
    assert not sa.inspect(engine).has_table("erased_users")
    rows = [
        {"date": date(2025, 1, d), "company_id": 1, "company_name": "Co1", "ingested_at": NOW, "user_id": u,
         "sessions_count": 1, "queries_count": 2}
        for d in (6, 7)
        for u in (10, 11)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.table("user_activities", *(sa.column(k) for k in rows[0])).insert(), rows)
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    assert warehouse.count(user_activities) == len(rows) and warehouse.count(erased_users) == 0
    privacy.forget(warehouse.engine, 1, 11, None, NOW)
    assert set(warehouse.read(user_activities)["user_id"]) == {10} and warehouse.count(erased_users) == 1


def test_a_0009_warehouse_with_an_erasure_gets_the_custom_kpis_table_and_keeps_the_erasure(warehouse: Warehouse):
    """Revision 0010: `custom_kpis`, created empty; the erasure record of 0009 stays, and still drops the user."""
    from reporting_assets.users import erased
    from reporting_assets.users.erased import Erased
    from reporting_assets.warehouse.tables import custom_kpis, erased_users

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0009") == "0009"
    assert not sa.inspect(engine).has_table("custom_kpis")
    with engine.begin() as conn:  # as 0009's `forget` wrote it
        erased.record(conn, 1, 11, None, NOW)
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    assert warehouse.count(custom_kpis) == 0 and warehouse.count(erased_users) == 1
    frame = pd.DataFrame({"company_id": [1, 1], "user_id": [10, 11]})
    kept, dropped = Erased.read(warehouse.engine).drop(frame)
    assert list(kept["user_id"]) == [10] and dropped == 1


def test_a_0010_warehouse_with_kpis_and_users_gets_the_org_tables_and_forget_reaches_them(warehouse: Warehouse):
    """Revision 0011: `org_memberships`, `org_data_file` and `group_activity`, created empty; the custom KPI and
    per-user rows of 0010 stay, and `forget` then deletes a user's memberships with the rest."""
    from reporting_assets.users import privacy
    from reporting_assets.warehouse.tables import custom_kpis, group_activity, org_memberships, user_activities

    engine = sa.create_engine(warehouse.url)
    assert migrate.upgrade(engine, "0010") == "0010"
    day = date(2025, 1, 6)
    kpi = {"date": day, "company_id": 1, "company_name": "Co1", "kpi": "k", "label": "K", "numerator": 3.0}
    users = [{"date": day, "company_id": 1, "company_name": "Co1", "ingested_at": NOW, "user_id": u,
              "sessions_count": 1, "queries_count": 2, "active_users_count": 2} for u in (10, 11)]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(custom_kpis.insert(), [{**kpi, "denominator": None, "value": 3.0}])
        conn.execute(user_activities.insert(), users)
    assert not sa.inspect(engine).has_table("org_memberships")
    engine.dispose()

    assert migrate.upgrade(warehouse.engine) == migrate.head()
    assert warehouse.count(custom_kpis) == 1 and warehouse.count(user_activities) == 2
    assert warehouse.count(group_activity) == 0
    with warehouse.engine.begin() as conn:
        member = {"company_id": 1, "valid_from": None, "attribute": "site", "group_name": "Paris"}
        conn.execute(org_memberships.insert(), [{**member, "user_id": u} for u in (10, 11)])
    _, deleted = privacy.forget(warehouse.engine, 1, 11, None, NOW)
    assert deleted == {"user_activities": 1, "user_engagement": 0, "org_memberships": 1}
    assert list(warehouse.read(org_memberships)["user_id"]) == [10]
