"""One registry of metrics for KPIs, alert totals and reports: a rate is a numerator over a denominator, each a
sum of count columns, so a rate over several companies or days is recomputed from its summed parts (never an
average of rates); and one name for all companies together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, Table, func, select, union_all

from reporting_assets.i18n import N_
from reporting_assets.lazy import pandas as pd

ALL_COMPANIES_ID = 0  # company_id of figures and alerts about every company the token sees, together
ALL_COMPANIES = N_("All companies")  # a message: shown in the reader's language
ACTIVE_WINDOW_DAYS = 30  # "the last 30 days": active_users_30d, stickiness, segments, the retention floor


def change(now: float, before: float | None, rate: bool) -> float | None:
    """`now` against `before`, the period before: a rate's difference (a fraction: 0.012 is +1.2 points), a count's
    relative change (0.25 is +25%); None when `before` is unknown, or 0 for a count (no relative change from 0)."""
    if before is None or (not rate and not before):
        return None
    return now - before if rate else (now - before) / before


def latest_names(*frames: pd.DataFrame) -> pd.Series:
    """company_id -> its most recent `company_name` in the rows (date, company_id, company_name) of `frames`: a
    company renamed on the API is shown by its latest name everywhere (on a day with two names, the greatest)."""
    rows = pd.concat([f[["date", "company_id", "company_name"]] for f in frames], ignore_index=True)
    rows = rows.sort_values(["date", "company_name"], kind="stable", na_position="first")
    return rows.groupby("company_id")["company_name"].last()


def latest_names_select(*tables: Table) -> Select:
    """`latest_names` in SQL: (company_id, company_name) of each company's latest row in `tables`."""
    rows = union_all(*(select(t.c.company_id, t.c.company_name, t.c.date) for t in tables)).subquery()
    order = (rows.c.date.desc(), rows.c.company_name.desc().nulls_last())
    n = func.row_number().over(partition_by=rows.c.company_id, order_by=order).label("n")
    ranked = select(rows.c.company_id, rows.c.company_name, n).subquery()
    return select(ranked.c.company_id, ranked.c.company_name).where(ranked.c.n == 1)


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN (stored as NULL) where the denominator is 0 or missing: never inf."""
    return numerator.astype("float64") / denominator.astype("float64").where(denominator > 0)


@dataclass(frozen=True)
class Ratio:
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]

    @property
    def parts(self) -> list[str]:
        return sorted({*self.numerator, *self.denominator})

    @property
    def formula(self) -> str:
        """As the table comments and docs write it: `likes_count / (likes_count + dislikes_count)`."""
        numerator, denominator = (
            c[0] if len(c) == 1 else f"({' + '.join(c)})" for c in (self.numerator, self.denominator)
        )
        return f"{numerator} / {denominator}"

    def of(self, frame: pd.DataFrame) -> pd.Series:
        """The rate of each row of `frame`, which holds the parts (or their sums)."""
        return ratio(sum(frame[c] for c in self.numerator), sum(frame[c] for c in self.denominator))


RATIOS: dict[str, Ratio] = {
    "satisfaction_rate": Ratio(("likes_count",), ("likes_count", "dislikes_count")),
    "feedback_rate": Ratio(("likes_count", "dislikes_count"), ("model_responses_count",)),
    "queries_per_session": Ratio(("user_queries_count",), ("sessions_count",)),
    "stickiness": Ratio(("active_users",), ("active_users_30d",)),
    "sessions_per_active_user": Ratio(("sessions_count",), ("active_users",)),
    "queries_per_active_user": Ratio(("user_queries_count",), ("active_users",)),
    "adoption_rate": Ratio(("active_users_30d",), ("current_active_members",)),  # members: company_members
}
RETENTION_RATE = Ratio(("retained_users",), ("cohort_users",))  # retention_cohorts: of a cohort, who came back
PERIOD_ADOPTION = Ratio(("active_users",), ("members",))  # active_users_by_period: of the members, who was active
