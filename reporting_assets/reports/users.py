"""The dashboard's "Users" section, from `user_engagement`, `retention_cohorts` and `company_members`: per company
(and all companies) a funnel, the segments, new and newly dormant users per month, a cohort heatmap, and the top
and dormant users. SQL aggregates per company; only the user tables' rows the page lists are read one by one,
at most `USER_ROWS` for all companies together (the CSV holds them; the warehouse table holds everyone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, case, func, select

from reporting_assets.i18n import N_
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ACTIVE_WINDOW_DAYS, ALL_COMPANIES_ID, RETENTION_RATE
from reporting_assets.reports.page_model import CompanyUsers
from reporting_assets.users.engagement import SEGMENTS
from reporting_assets.warehouse.tables import company_members, retention_cohorts, user_engagement

COHORTS_SHOWN = 12  # the latest cohorts of the heatmap, and as many month offsets
MONTHS_SHOWN = 24  # new and newly dormant users
USER_ROWS = 7_500  # rows of each user table in the page's model, all companies together (the page stays under 5 MB)
SEGMENT_NAMES = ["new", *(name for name, _ in SEGMENTS)]
FUNNEL = [N_("Members"), N_("Ever active"), N_("Active, last 30 days"), N_("Power users")]
NO_USERS = N_("no per-user data yet: user_engagement is computed once user_activities is loaded")


def _counts(engine: Engine) -> pd.DataFrame:
    """Per company: users ever active, active in the last 30 days, and per segment (NULL: not all loaded)."""
    u = user_engagement
    segment = func.coalesce(u.c.segment, "unknown")
    query = select(
        u.c.company_id,
        segment.label("segment"),
        func.count().label("users"),
        func.sum(case((u.c.active_days_30d > 0, 1), else_=0)).label("active_30d"),
    ).group_by(u.c.company_id, segment)
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


def _members(engine: Engine) -> pd.Series:
    """company_id -> current members in the latest snapshot."""
    m = company_members
    latest = select(m.c.company_id, func.max(m.c.date).label("date")).group_by(m.c.company_id).subquery()
    query = select(m.c.company_id, m.c.current_active_members).join(
        latest, (m.c.company_id == latest.c.company_id) & (m.c.date == latest.c.date)
    )
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    return frame.dropna().set_index("company_id")["current_active_members"]


def _company(segments: pd.Series, active: int, members: float | None, months: list, cohorts: list) -> CompanyUsers:
    """One company's (or all companies') users: `segments` (segment -> users), `active` over the last 30 days."""
    ever = int(segments.sum())
    funnel = [members, ever, active, int(segments.get("power", 0))]
    return CompanyUsers(
        funnel=[None if v is None else int(v) for v in funnel],
        never=None if members is None else max(int(members) - ever, 0),
        segments=[int(segments.get(name, 0)) for name in [*SEGMENT_NAMES, "unknown"]],
        months=months,
        cohorts=cohorts,
    )


@dataclass(frozen=True)
class Section:
    """The Users section: per company (`ALL_COMPANIES_ID` included), and the two user tables' rows (their first
    value: the company id) with how many users each leaves out."""

    known: bool
    by_company: dict[int, CompanyUsers]
    segments: list[str]
    tables: dict[str, tuple[list[list], int]]


def month_labels(as_of: date) -> list[str]:
    """The last `MONTHS_SHOWN` months up to as_of's, as YYYY-MM."""
    return list(pd.period_range(end=pd.Period(as_of, "M"), periods=MONTHS_SHOWN).strftime("%Y-%m"))


def _new_and_dormant_by_month(engine: Engine, as_of: date) -> pd.DataFrame:
    """Per company and month (the last `MONTHS_SHOWN`): users first active (new) and users gone dormant (30 days
    after their last active day, when that is on or before as_of)."""
    first = date.fromisoformat(month_labels(as_of)[0] + "-01")
    c = retention_cohorts
    new_query = select(c.c.company_id, c.c.cohort_month.label("month"), c.c.cohort_users.label("new")).where(
        c.c.month_offset == 0, c.c.cohort_month >= first
    )
    u = user_engagement
    gone = select(u.c.company_id, u.c.last_active_date, func.count().label("dormant")).where(
        u.c.last_active_date <= as_of - timedelta(days=ACTIVE_WINDOW_DAYS)
    )
    with engine.connect() as conn:
        new = pd.read_sql(new_query, conn)
        dormant = pd.read_sql(gone.group_by(u.c.company_id, u.c.last_active_date), conn)
    new["month"] = pd.to_datetime(new["month"]).dt.strftime("%Y-%m")
    went = pd.to_datetime(dormant["last_active_date"]) + pd.Timedelta(days=ACTIVE_WINDOW_DAYS)
    dormant["month"] = went.dt.strftime("%Y-%m")
    dormant = dormant[went >= pd.Timestamp(first)].groupby(["company_id", "month"])["dormant"].sum().reset_index()
    out = new.merge(dormant, on=["company_id", "month"], how="outer").fillna(0)
    return out.astype({"new": "int64", "dormant": "int64"})


def _cohorts(engine: Engine) -> pd.DataFrame:
    """The latest cohorts' retention per company: cohort (YYYY-MM), offset, retained, size."""
    c = retention_cohorts
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(c.c.cohort_month))).scalar_one()
        if latest is None:
            return pd.DataFrame(columns=["company_id", "cohort", "offset", "retained", "size"])
        first = (pd.Period(latest, "M") - (COHORTS_SHOWN - 1)).start_time.date()
        query = select(c.c.company_id, c.c.cohort_month, c.c.month_offset, c.c.retained_users, c.c.cohort_users).where(
            c.c.cohort_month >= first, c.c.month_offset < COHORTS_SHOWN
        )
        frame = pd.read_sql(query, conn)
    frame.columns = ["company_id", "cohort", "offset", "retained", "size"]
    frame["cohort"] = pd.to_datetime(frame["cohort"]).dt.strftime("%Y-%m")
    return frame


def _cells(cohorts: pd.DataFrame) -> dict[int, list[list]]:
    """Per company: heatmap cells [cohort, offset, rate, retained, size] of its summed cohorts."""
    sums = cohorts.groupby(["company_id", "cohort", "offset"])[["retained", "size"]].sum().reset_index()
    rate = RETENTION_RATE.of(sums.rename(columns={"retained": "retained_users", "size": "cohort_users"})).round(4)
    sums = sums.astype({"offset": "int64", "retained": "int64", "size": "int64"})
    sums["rate"] = rate.astype(object).where(rate.notna(), None)
    cells = sums[["cohort", "offset", "rate", "retained", "size"]]
    return {int(cid): own.values.tolist() for cid, own in cells.groupby(sums["company_id"])}


def _months(months: pd.DataFrame, labels: list[str], companies: list[int]) -> dict[int, list[list]]:
    """Per company of `companies`: [month, new, newly dormant] of each month of `labels` from its first month with
    a user on."""
    sums = months.groupby(["company_id", "month"])[["new", "dormant"]].sum()
    every = pd.MultiIndex.from_product([companies, labels], names=["company_id", "month"])
    sums = sums.reindex(every, fill_value=0).astype("int64")
    started = (sums.sum(axis=1) > 0).groupby(level="company_id").cummax()
    kept = sums[started].reset_index()
    return {
        int(cid): rows.values.tolist() for cid, rows in kept[["month", "new", "dormant"]].groupby(kept["company_id"])
    }


def _user_rows(engine: Engine, companies: list[int], dormant: bool) -> tuple[list[list], int]:
    """The most engaged users (or the most recently gone dormant) of `companies`, up to `USER_ROWS` in all, in
    order; and how many users that leaves out."""
    u = user_engagement
    order = (
        [u.c.last_active_date.desc(), u.c.user_id]
        if dormant
        else [u.c.active_days_30d.desc(), u.c.queries_30d.desc(), u.c.last_active_date.desc(), u.c.user_id]
    )
    where = [u.c.company_id.in_(companies)] + ([u.c.segment == "dormant"] if dormant else [])
    columns = [u.c.company_id, u.c.company_name, u.c.user_id, u.c.segment, u.c.last_active_date, u.c.active_days]
    columns += [u.c.active_days_30d, u.c.queries_30d]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(u).where(*where)).scalar_one()
        frame = pd.read_sql(select(*columns).where(*where).order_by(*order).limit(USER_ROWS), conn)
    frame["segment"] = frame["segment"].fillna("not known")
    frame["last_active_date"] = pd.to_datetime(frame["last_active_date"]).dt.strftime("%Y-%m-%d")
    frame["user_id"] = frame["user_id"].map(str)  # 63-bit pseudonyms: beyond a JavaScript number's precision
    rows = frame.astype(object).values.tolist()
    return [[v.item() if hasattr(v, "item") else v for v in row] for row in rows], total - len(frame)


USER_COLUMNS = [
    ("company_id", N_("Company id"), ""), ("company_name", N_("Company"), "text"),
    ("user_id", N_("User (id or pseudonym)"), "text"),
    ("segment", N_("Segment"), "text"), ("last_active_date", N_("Last active"), "text"),
    ("active_days", N_("Active days"), "count"), ("active_days_30d", N_("Active days, last 30"), "count"),
    ("queries_30d", N_("Queries, last 30 days"), "count"),
]  # fmt: skip


def section(engine: Engine, chosen: list[int], as_of: date, lists: bool = True) -> Section:
    """The section for the companies `chosen`, as of `as_of`; the user tables only with `lists`
    (`REPORTING_USER_LISTS`)."""
    counts = _counts(engine)
    members = _members(engine)
    labels = month_labels(as_of)
    months = _new_and_dormant_by_month(engine, as_of)
    every_one = months.assign(company_id=ALL_COMPANIES_ID)  # all companies as one
    months = _months(every_one, labels, [ALL_COMPANIES_ID]) | _months(months, labels, chosen)
    cohorts = _cohorts(engine)
    cells = _cells(cohorts.assign(company_id=ALL_COMPANIES_ID)) | _cells(cohorts[cohorts["company_id"].isin(chosen)])
    segments = counts.pivot_table(index="company_id", columns="segment", values="users", aggfunc="sum", fill_value=0)
    active = counts.groupby("company_id")["active_30d"].sum()
    every = all(c in members.index for c in active.index)  # members known for every company with users
    by_company = {
        ALL_COMPANIES_ID: _company(
            segments.sum(), int(active.sum()), float(members.sum()) if len(members) and every else None,
            months.get(ALL_COMPANIES_ID, []), cells.get(ALL_COMPANIES_ID, []),
        )
    }  # fmt: skip
    for company in chosen:
        by_company[company] = _company(
            segments.loc[company] if company in segments.index else pd.Series(dtype="int64"),
            int(active.get(company, 0)),
            float(members[company]) if company in members.index else None,
            months.get(company, []),
            cells.get(company, []),
        )
    tables = (
        {
            "top_users": _user_rows(engine, chosen, dormant=False),
            "dormant_users": _user_rows(engine, chosen, dormant=True),
        }
        if lists
        else {}
    )
    return Section(bool(len(counts)), by_company, [*SEGMENT_NAMES, "unknown"], tables)
