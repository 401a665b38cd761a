"""Reports in object storage: `REPORTING_REPORTS_DIR=s3://bucket/prefix` against moto's S3 server on 127.0.0.1,
with the standard AWS variables: the dashboard lands as one object in one PUT, the doctor checks the store, a
store without its fsspec package stops the settings, and the credentials are never printed."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import boto3
import pytest
from dagster import DagsterInstance, materialize

from reporting_assets import erasure
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.doctor import checks as doctor
from reporting_assets.i18n import ENGLISH
from reporting_assets.reports import store
from reporting_assets.reports.usage_dashboard import build_usage_dashboard
from reporting_assets.settings import Settings, SettingsError
from reporting_assets.warehouse.store import Warehouse
from reporting_assets_tests.conftest import S3_SECRET_KEY as SECRET_KEY
from reporting_assets_tests.synthetic import write_instance


def _objects(bucket: str) -> dict[str, bytes]:
    client = boto3.client("s3")
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_the_dashboard_is_one_object_in_the_bucket_and_the_doctor_checks_the_store(
    s3: str, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    write_instance(warehouse, date(2025, 3, 1), 40, 2, resources=2)
    caplog.set_level(logging.DEBUG)
    asset = build_usage_dashboard(
        f"s3://{s3}/team/usage",
        None,
        now=lambda: datetime(2025, 4, 12, tzinfo=UTC),
        user_lists=True,
        lang=ENGLISH,
        kpis=NO_KPIS,
    )
    result = materialize([asset], resources={"warehouse": warehouse}, instance=DagsterInstance.ephemeral())
    assert result.success
    [event] = result.asset_materializations_for_node("usage_dashboard")
    assert event.metadata["path"].value == f"s3://{s3}/team/usage/usage_dashboard.html"
    objects = _objects(s3)
    assert list(objects) == ["team/usage/usage_dashboard.html"]  # no partial or probe object left behind
    page = objects["team/usage/usage_dashboard.html"].decode()
    assert page.startswith("<!DOCTYPE html>") and 'id="data-through">Apr 9, 2025<' in page  # the reader's date

    checks = list(
        doctor._reports(Settings.load(paradigm_base_url="demo", reporting_reports_dir=f"s3://{s3}/x"), lang=ENGLISH)
    )
    assert [c.line(lang=ENGLISH) for c in checks] == [f"✓ reports: s3://{s3}/x is writable"]
    [missing] = doctor._reports(
        Settings.load(paradigm_base_url="demo", reporting_reports_dir="s3://nobucket/x"), lang=ENGLISH
    )
    assert not missing.ok and "cannot write to s3://nobucket/x" in missing.detail and "bucket" in missing.detail
    assert list(_objects(s3)) == ["team/usage/usage_dashboard.html"]
    assert SECRET_KEY not in caplog.text and SECRET_KEY not in missing.detail

    # erasure renders the object again where it is (a user's lists gone with the user); none elsewhere
    stored = Settings.load(paradigm_base_url="demo", reporting_reports_dir=f"s3://{s3}/team/usage")
    later = datetime(2025, 5, 2, 9, tzinfo=UTC)
    said = erasure.dashboard_again(stored, warehouse.engine, lambda: later)
    assert said == f"dashboard: rendered again at s3://{s3}/team/usage/usage_dashboard.html without the user"
    again = _objects(s3)["team/usage/usage_dashboard.html"].decode()
    assert 'id="data-through">Apr 9, 2025<' in again and "generated 2025-05-02 09:00" in again
    elsewhere = Settings.load(paradigm_base_url="demo", reporting_reports_dir=f"s3://{s3}/other")
    assert (
        erasure.dashboard_again(elsewhere, warehouse.engine)
        == f"dashboard: none at s3://{s3}/other/usage_dashboard.html"
    )


def test_a_store_is_shown_without_credentials_and_one_without_its_package_stops_the_settings() -> None:
    assert store.shown("s3://key:secret@bucket/prefix") == "s3://key:***@bucket/prefix"
    assert Settings.load(paradigm_base_url="demo", reporting_reports_dir="s3://b/p").reports_dir == "s3://b/p"
    with pytest.raises(SettingsError, match="REPORTING_REPORTS_DIR: no fsspec store for nosuch://"):
        Settings.load(paradigm_base_url="demo", reporting_reports_dir="nosuch://b/p")
