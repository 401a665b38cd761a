"""The org assets, when REPORTING_ORG_DATA is set (group `paradigm_org`, not partitioned):

- `org_data` loads the org file as effective-dated memberships (`org_memberships`), user ids pseudonymised as
  `user_activities`' are and erased users left out. The file's SHA-256 is its data version: an unchanged file is
  not written again. Its check `no_bad_rows` fails while the file has rows left out, listing each.
- `group_activity` computes the figures per group (`org.groups`) and each group's users per engagement segment
  (`group_segments`), folds the groups below REPORTING_MIN_GROUP_SIZE into "(other)" before writing, a range of
  companies at a time within the memory budget.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    DataVersion,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from sqlalchemy import delete, func, select

from reporting_assets.assets.metadata import column_schema, peak_rss_mb, table_metadata
from reporting_assets.assets.users import user_ranges
from reporting_assets.clock import Clock, utc_now
from reporting_assets.lazy import pandas as pd
from reporting_assets.neutralise import markdown, plain
from reporting_assets.org import groups
from reporting_assets.org.file import OrgFile, OrgFileError, parse
from reporting_assets.paradigm.resource import ParadigmResource, row_budget
from reporting_assets.reports import store
from reporting_assets.settings import Settings
from reporting_assets.users import pseudonyms
from reporting_assets.users.erased import Erased
from reporting_assets.warehouse import company_ranges
from reporting_assets.warehouse.engines import begin_write
from reporting_assets.warehouse.spool import Spool
from reporting_assets.warehouse.store import Warehouse, insert_frame, lock_table
from reporting_assets.warehouse.tables import (
    GROUP_GRAINS,
    group_activity,
    group_segments,
    org_data_file,
    org_memberships,
    user_activities,
    user_activity,
    user_engagement,
)

GROUP = "paradigm_org"
BATCH = 50_000  # rows of user_activities read at once
BAD_ROWS_SHOWN = 50  # in the metadata and the check: the first ones, and how many in all
CHECK = "no_bad_rows"
AFTER_LOADS = AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())


def _companies(warehouse: Warehouse) -> set[int]:
    """The companies the warehouse knows (user_activity's: one row per company and day)."""
    with warehouse.engine.connect() as conn:
        return set(conn.execute(select(user_activity.c.company_id).distinct()).scalars())


def read_file(location: str, warehouse: Warehouse, company_id: int | None) -> OrgFile:
    """The org file at `location`, validated against the warehouse's companies. Raises `OrgFileError` naming the
    file when it cannot be read or used."""
    where = store.shown(location)
    try:
        data = store.read_bytes(location)
    except OSError as exc:
        raise OrgFileError(f"{where}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    known = _companies(warehouse)
    single = company_id or (next(iter(known)) if len(known) == 1 else None)
    return parse(data, where, known, single)


def _unchanged(warehouse: Warehouse, content_hash: str) -> bool:
    """The file was loaded already, and what it wrote is all still there."""
    with warehouse.engine.connect() as conn:
        stored = conn.execute(select(org_data_file.c.content_hash, org_data_file.c.memberships)).first()
        held = conn.execute(select(func.count()).select_from(org_memberships)).scalar_one()
    return stored is not None and stored[0] == content_hash and stored[1] == held


def _write(warehouse: Warehouse, parsed: OrgFile, memberships: "pd.DataFrame", erased: Erased, now: Clock) -> None:
    """Replace the memberships and the file's record in one transaction."""
    record = pd.DataFrame(
        [[parsed.content_hash, now(), len(memberships), len(parsed.bad), ",".join(parsed.attributes), parsed.dated]],
        columns=[c.name for c in org_data_file.columns],
    )
    rows = memberships.assign(valid_from=memberships["valid_from"].dt.date)  # NaT: NULL, since always
    with begin_write(warehouse.engine) as conn:
        lock_table(conn, org_memberships)  # `forget` takes it too: an erasure waits, then deletes what is written
        erased.still(conn)
        conn.execute(delete(org_memberships))
        conn.execute(delete(org_data_file))
        insert_frame(conn, org_memberships, rows)
        insert_frame(conn, org_data_file, record)


def build_org_data(location: str, company_id: int | None, now: Clock = utc_now) -> AssetsDefinition:
    """`org_data`: the org file at `location` (REPORTING_ORG_DATA) loaded as memberships."""

    @asset(
        name="org_data",
        group_name=GROUP,
        deps=[user_activities.name],  # its companies, and its user ids' pseudonymisation
        automation_condition=AFTER_LOADS,
        check_specs=[
            AssetCheckSpec(CHECK, asset="org_data", description="Every row of the org file is used: none left out")
        ],
        kinds={"csv", "sql"},
        description=f"{org_memberships.comment}.\n\nFrom `{store.shown(location)}`; tables `{org_memberships.name}` "
        f"and `{org_data_file.name}`; see docs/groups.md.",
        metadata={"dagster/column_schema": column_schema(org_memberships), "dagster/table_name": org_memberships.name},
    )
    def _org_data(
        context: AssetExecutionContext, paradigm: ParadigmResource, warehouse: Warehouse
    ) -> MaterializeResult:
        key = paradigm.user_id_key or None
        try:
            pseudonyms.ensure(warehouse.engine, key)
            parsed = read_file(location, warehouse, paradigm.company_id)
        except (OrgFileError, pseudonyms.KeyMismatch) as exc:
            raise Failure(description=f"REPORTING_ORG_DATA: {exc}", allow_retries=False) from None
        erased = Erased.read(warehouse.engine)
        memberships, dropped = erased.drop(parsed.memberships)
        unchanged = _unchanged(warehouse, parsed.content_hash)
        if not unchanged:
            if key:
                ids = pseudonyms.pseudonymise(memberships["company_id"], memberships["user_id"], key)
                memberships = memberships.assign(user_id=ids)
            _write(warehouse, parsed, memberships, erased, now)
        shown = parsed.bad[:BAD_ROWS_SHOWN]  # a column's name is the file's text: inert in markdown
        bad = "\n".join(f"- line {b.line}, {markdown(b.column)}: {b.why}" for b in shown)
        more = len(parsed.bad) - BAD_ROWS_SHOWN
        listed = MetadataValue.md((bad + (f"\n- ... and {more} more" if more > 0 else "")) or "_none_")
        context.log.info(
            "org data: %d rows, %d bad, %s", parsed.rows, len(parsed.bad), "unchanged" if unchanged else "loaded"
        )
        return MaterializeResult(
            data_version=DataVersion(parsed.content_hash),
            metadata={
                "file": store.shown(location),
                "rows": parsed.rows,
                "memberships": len(memberships),
                "attributes": plain(", ".join(parsed.attributes)),
                "dated (valid_from)": parsed.dated,
                "bad_rows": len(parsed.bad),
                "bad rows": listed,
                "erased users' rows left out": dropped,
                "written": not unchanged,
            },
            check_results=[
                AssetCheckResult(
                    check_name=CHECK,
                    passed=not parsed.bad,
                    severity=AssetCheckSeverity.WARN,
                    metadata={"bad_rows": len(parsed.bad), "bad rows": listed},
                )
            ],
        )

    return _org_data


def _activity(
    warehouse: Warehouse, part: company_ranges.Companies, lo: "pd.Timestamp", hi: "pd.Timestamp", loaded: "pd.Series"
) -> "pd.DataFrame":
    """user_activities of the `loaded` days in `lo..hi`, read `BATCH` rows at a time into typed frames."""
    a = user_activities
    columns = ["company_id", "date", "user_id", "sessions_count", "queries_count"]
    query = select(*(a.c[c] for c in columns)).where(a.c.date.between(lo.date(), hi.date()))
    if (where := company_ranges.clause(a.c.company_id, part)) is not None:
        query = query.where(where)
    types = {"company_id": "int64", "user_id": "int64", "sessions_count": "float64", "queries_count": "float64"}
    frames = [pd.DataFrame(columns=columns).astype(types)]
    with warehouse.engine.connect() as conn:
        for batch in conn.execution_options(yield_per=BATCH).execute(query).partitions():
            frames.append(pd.DataFrame(map(tuple, batch), columns=columns).astype(types))  # rows as tuples: 2x faster
    frame = pd.concat(frames, ignore_index=True)
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame[frame["date"].isin(loaded)]
    return frame.fillna({"sessions_count": 0, "queries_count": 0})


def _rows_per_day(warehouse: Warehouse, part: company_ranges.Companies) -> "pd.DataFrame":
    """Rows of user_activities per company and day (the database counting)."""
    a = user_activities
    query = select(a.c.company_id, a.c.date, func.count().label("rows")).group_by(a.c.company_id, a.c.date)
    if (where := company_ranges.clause(a.c.company_id, part)) is not None:
        query = query.where(where)
    with warehouse.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=["company_id", "date", "rows"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _segments(
    warehouse: Warehouse,
    part: company_ranges.Companies,
    memberships: "pd.DataFrame",
    loaded: "pd.Series",
    min_size: int,
) -> "pd.DataFrame":
    """The range's groups as of user_engagement's picture (segments, the last 30 days and the 30 before), suppressed;
    a 30-day figure is NULL unless its 30 days are all `loaded`."""
    e, a = user_engagement, user_activities
    query = select(e.c.company_id, e.c.user_id, e.c.segment, e.c.active_days_30d, e.c.sessions_30d, e.c.as_of_date)
    if (where := company_ranges.clause(e.c.company_id, part)) is not None:
        query = query.where(where)
    with warehouse.engine.connect() as conn:
        users = pd.read_sql(query, conn).fillna({"active_days_30d": 0, "sessions_30d": 0})
        if not len(users):
            return pd.DataFrame(columns=[c.name for c in group_segments.columns])
        as_of = pd.Timestamp(users["as_of_date"].max())
        lo, hi = (as_of - pd.Timedelta(days=59)).date(), (as_of - pd.Timedelta(days=30)).date()
        before = select(a.c.company_id, a.c.user_id).where(a.c.date.between(lo, hi)).distinct()
        if (where := company_ranges.clause(a.c.company_id, part)) is not None:
            before = before.where(where)
        prior = pd.DataFrame(conn.execute(before).all(), columns=["company_id", "user_id"])
    counted = groups.segments(users.drop(columns="as_of_date"), memberships, as_of, prior)
    frame = groups.suppress(counted, min_size, ["company_id", "attribute"]).assign(as_of_date=as_of.date())
    whole = {
        "active_users_30d": loaded.between(as_of - pd.Timedelta(days=29), as_of).sum() == 30,
        "active_users_prior_30d": loaded.between(pd.Timestamp(lo), pd.Timestamp(hi)).sum() == 30,
    }
    whole["sessions_30d"] = whole["active_users_30d"]
    for column, known in whole.items():
        frame[column] = frame[column].astype("Int64") if known else pd.Series(pd.NA, frame.index, "Int64")
    return frame


def _memberships(warehouse: Warehouse, part: company_ranges.Companies) -> "pd.DataFrame":
    m = org_memberships
    query = select(m.c.company_id, m.c.user_id, m.c.valid_from, m.c.attribute, m.c.group_name)
    if (where := company_ranges.clause(m.c.company_id, part)) is not None:
        query = query.where(where)
    with warehouse.engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame["valid_from"] = pd.to_datetime(frame["valid_from"])
    return frame


def build_group_activity(min_size: int, memory_budget_mb: int) -> AssetsDefinition:
    """`group_activity`, suppressed below `min_size` (REPORTING_MIN_GROUP_SIZE)."""
    budget = row_budget(memory_budget_mb)

    @asset(
        name=group_activity.name,
        group_name=GROUP,
        deps=["org_data", user_activities.name, user_engagement.name],
        automation_condition=AFTER_LOADS,
        kinds={"sql", "pandas"},
        description=f"{group_activity.comment} ({min_size}).\n\nTable `{group_activity.name}`; see docs/groups.md.",
        metadata={**table_metadata(group_activity), "min_group_size": min_size},
    )
    def _groups(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        ledger = warehouse.loaded([user_activities.name])
        days = set(ledger.loc[~ledger["purged"], "date"])
        if not days:
            return MaterializeResult(metadata={"note": "user_activities has no loaded day yet"})
        loaded = pd.Series(pd.to_datetime(sorted(days)))
        other = 0
        with Spool() as spool, Spool() as segmented:  # a range of companies, a grain and a span at a time
            for part in user_ranges(warehouse, max(days), budget):
                memberships, counts = _memberships(warehouse, part), _rows_per_day(warehouse, part)
                segmented.add(_segments(warehouse, part, memberships, loaded, min_size))
                first = counts.groupby("company_id")["date"].min()
                per_day = counts.groupby("date")["rows"].sum()
                per_day = per_day.reindex(per_day.index.union(loaded), fill_value=0)  # loaded, nobody active: 0
                for grain in GROUP_GRAINS:
                    for lo, hi in groups.blocks(per_day, grain, budget):
                        some = loaded[loaded.between(lo, hi)]
                        activity = _activity(warehouse, part, lo, hi, some)
                        frame = groups.suppress(groups.figures(activity, memberships, some, grain, first), min_size)
                        other += int((frame["group_name"] == groups.OTHER).sum())
                        spool.add(frame)
                        del activity, frame
            rows = warehouse.replace_tables({group_activity: spool, group_segments: segmented})[group_activity.name]
        context.log.info("group_activity: %d rows from %d loaded days", rows, len(days))
        return MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "days": len(days),
                "min_group_size": min_size,
                "rows of (other)": other,
                "process_peak_rss_mb": peak_rss_mb(),
            }
        )

    return _groups


def build_defs(settings: Settings, now: Clock = utc_now) -> Definitions:
    """The org assets when REPORTING_ORG_DATA is set; none otherwise."""
    if not settings.reporting_org_data:
        return Definitions()
    return Definitions(
        assets=[
            build_org_data(settings.reporting_org_data, settings.paradigm_company_id, now),
            build_group_activity(settings.reporting_min_group_size, settings.reporting_memory_budget_mb),
        ]
    )
