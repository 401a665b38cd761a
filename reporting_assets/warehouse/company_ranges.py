"""Ranges of company ids: how a step that holds rows per company (KPI chunks, per-user assets) stays within a row
budget whatever the number of companies. Every figure of those steps is per company, so ranges compute apart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_

if TYPE_CHECKING:
    from reporting_assets.lazy import pandas as pd

Companies = tuple[int | None, int | None]  # a range of company ids, inclusive (None: unbounded)
EVERY_COMPANY: Companies = (None, None)


def split(rows: pd.Series, budget: int) -> list[Companies]:
    """Consecutive company ids (`rows`: company_id -> rows it holds, in id order) cut into ranges that each hold
    at most `budget` rows (a company over it alone); the first and last ranges are open, so that a company stored
    meanwhile still falls in one."""
    starts, held = [], budget
    for company, count in rows.items():
        if held + count > budget:
            starts.append(int(company))
            held = 0
        held += count
    if len(starts) < 2:
        return [EVERY_COMPANY]
    return list(zip([None, *starts[1:]], [*(s - 1 for s in starts[1:]), None], strict=True))


def clause(column: ColumnElement[int], companies: Companies) -> ColumnElement[bool] | None:
    """`column` within the range (None for every company)."""
    lo, hi = companies
    bounds = [*([column >= lo] if lo is not None else []), *([column <= hi] if hi is not None else [])]
    return and_(*bounds) if bounds else None
