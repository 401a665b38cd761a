"""The one declaration of personal data (`personal.py`) holds the schema, the BI contract, the extracts and the
docs to it: a per-user table, view or file declared nowhere else cannot be missed by erasure, retention, the
readers' grants or REPORTING_USER_LISTS."""

from __future__ import annotations

from reporting_assets import personal
from reporting_assets.bi import access
from reporting_assets.bi.contract import VIEWS
from reporting_assets.bi.docs import PRIVACY_BLOCKS, render
from reporting_assets.bi.extracts import folder, per_user_files
from reporting_assets.bi.views import expected
from reporting_assets.reports.dashboard import FILE_NAME
from reporting_assets.warehouse.tables import erased_users, metadata
from reporting_assets_tests.messages import PACKAGE


def test_every_table_and_view_with_a_user_id_is_declared_and_no_aggregate_reads_one() -> None:
    with_ids = {t.name for t in metadata.sorted_tables if "user_id" in t.c} - {erased_users.name}
    assert with_ids == set(personal.table_names())  # the erasure record is kept apart, by design
    assert {v.name for v in VIEWS.values() if "user_id" in v.names} == set(personal.VIEWS)
    assert {v.name for v in VIEWS.values() if v.per_user} == set(personal.VIEWS)
    # with REPORTING_USER_LISTS=off no reader holds a per-user table, and no aggregate view needs one
    assert not set(access._tables(user_lists=False)) & set(personal.table_names())
    assert not {v.name for v in expected(user_lists=False)} & set(personal.VIEWS)
    assert per_user_files()[:-1] == [f"{folder()}/{v}/{v}.parquet" for v in personal.VIEWS]
    for held in personal.TABLES:  # retention deletes by a date column of the table itself, or not at all
        assert held.expiry is None or str(held.expiry.type) == "DATE", held.table.name
    assert [h.table.name for h in personal.TABLES if h.expiry is None] == ["org_memberships"]  # who is in which group


def test_the_docs_table_of_where_a_user_s_id_is_kept_is_the_declaration_s() -> None:
    page = (PACKAGE.parent / "docs" / "users-and-privacy.md").read_text()
    assert render(page, PRIVACY_BLOCKS) == page, "run `python scripts/bi_docs.py`"
    for name in [*personal.table_names(), *personal.VIEWS, *per_user_files(), FILE_NAME]:
        assert f"| `{name}` (" in page, name
