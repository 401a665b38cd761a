"""The pure flatten/typing engine: nested `reporting[].dates[]` JSON in, a typed DataFrame out, with the columns of
the endpoint's warehouse table (`docs/paradigm_api.md` describes the shapes).

Unknown fields are dropped and listed as schema drift; a missing key field or a value of the wrong type raises
`PayloadError`, which the resource turns into a `ParadigmResponseError` naming the endpoint and range.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Date, DateTime, Float, Integer

from reporting_assets.lazy import pandas as pd
from reporting_assets.neutralise import plain
from reporting_assets.users.erased import NONE, Erased
from reporting_assets.users.pseudonyms import pseudonymise

if TYPE_CHECKING:
    from reporting_assets.paradigm.endpoints import Endpoint


USER_ID = "user_id"
FIELD_NAME_LENGTH = 100  # characters of an unknown field's name in logs and metadata
DESCRIPTION_LENGTH = 500  # characters of a field's description from the API, shown as a column's in the UI
BATCH_ROWS = 50_000  # rows built from the parser's objects at once, by default


class PayloadError(ValueError):
    """The payload does not have the documented shape; the message says which field and where."""


@dataclass(frozen=True)
class Rows:
    """What one or more payloads of an endpoint gave."""

    frame: pd.DataFrame  # typed rows, the table's columns (`ingested_at` aside)
    drift: list[str]  # unknown field names met, sorted
    docs: dict[str, str]  # column -> description from the payloads' own `metadata` blocks
    requests: int = 0  # HTTP requests made for them, retries included (set by the resource)
    dropped: int = 0  # rows of erased users left out (`users.erased`)


class Payload(Protocol):
    """An answer's top-level fields: the decoded dict, or the client's `Answer`, parsed as it is read (there,
    `reporting` is an iterator of company blocks)."""

    def get(self, key: str, default: Any = None) -> Any: ...


def flatten(
    endpoint: Endpoint,
    payload: Payload,
    days: Sequence[date] = (),
    user_id_key: str | None = None,
    batch_rows: int = BATCH_ROWS,
    erased: Erased = NONE,
) -> Rows:
    """The payload's rows, typed as the endpoint's table, with the unknown fields met and the API's column docs.
    A snapshot endpoint's figures (no `dates`) are repeated for each of `days`. With `user_id_key`, user ids are
    pseudonyms from here on: no later step (spool, warehouse, error message) sees a raw one. The rows of `erased`
    users are left out before that, and counted.

    Company blocks are turned into typed rows about `batch_rows` rows at a time: of an answer parsed as it is read
    (`Answer`), only one batch's objects are held besides the typed rows (one company's block at the least)."""
    frames, drift, dropped = [], set(), 0
    for batch in _batches(endpoint, _companies(payload), batch_rows):
        raw = _snapshot(batch, days) if endpoint.snapshot else _frame(endpoint, batch)
        frame, met = _typed_frame(endpoint, raw, hidden=bool(user_id_key))
        if USER_ID in frame.columns:
            frame, gone = erased.drop(frame)
            dropped += gone
            if user_id_key:
                frame[USER_ID] = pseudonymise(frame["company_id"], frame[USER_ID], user_id_key)
        frames.append(frame)
        drift |= met
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return Rows(_dedupe(frame, endpoint.key), sorted(drift), _docs(endpoint, payload), dropped=dropped)


def _typed_frame(endpoint: Endpoint, frame: pd.DataFrame, hidden: bool) -> tuple[pd.DataFrame, set[str]]:
    """Rows with the table's columns, typed, and the unknown fields met; `hidden`: a malformed user id is not
    quoted (it may still be personal data)."""
    frame = frame.rename(columns=dict(endpoint.renames))
    columns = [c.name for c in endpoint.table.columns if c.name != "ingested_at"]
    drift = {plain(c, FIELD_NAME_LENGTH) for c in frame.columns if c not in columns}  # API text: logged
    frame = frame.reindex(columns=columns)
    for name in [*endpoint.key, "company_name"]:
        _require(frame, name)
    for column in endpoint.table.columns:
        if column.name in frame.columns:
            shown = not (hidden and column.name == USER_ID)
            frame[column.name] = _typed(frame, column.name, column.type, shown=shown)
    return frame, drift


Company = tuple[dict[str, Any], dict[str, Any]]  # a `reporting` entry's company id and name, and the entry


def _companies(payload: Payload) -> Iterator[Company]:
    """Each `reporting` entry with its company's id and name, as the payload gives them."""
    reporting = payload.get("reporting")
    if isinstance(reporting, str | bytes | Mapping) or not isinstance(reporting, Iterable):
        raise PayloadError("field 'reporting' is missing or not a list")
    for block in reporting:
        company = block.get("company") if isinstance(block, dict) else None
        if not isinstance(company, dict) or "id" not in company:
            raise PayloadError("a 'reporting' entry has no 'company' with an 'id'")
        yield {"company_id": company["id"], "company_name": company.get("name")}, block


def _rows_in(endpoint: Endpoint, block: dict[str, Any]) -> int:
    """About how many rows a company block gives (one loop over its days, not its items)."""
    dates = block.get("dates")
    if endpoint.items is None or not isinstance(dates, list):
        return len(dates) if isinstance(dates, list) else 1
    return sum(len(d[endpoint.items]) if isinstance(d, dict) and isinstance(d.get(endpoint.items), list) else 1
               for d in dates)  # fmt: skip


def _batches(endpoint: Endpoint, companies: Iterator[Company], batch_rows: int) -> Iterator[list[Company]]:
    """Consecutive company blocks of about `batch_rows` rows together (one, maybe empty, at the least)."""
    batch: list[Company] = []
    rows, given = 0, False
    for company in companies:
        batch.append(company)
        rows += _rows_in(endpoint, company[1])
        if rows >= batch_rows:
            yield batch
            batch, rows, given = [], 0, True
    if batch or not given:
        yield batch


def _snapshot(companies: list[Company], days: Sequence[date]) -> pd.DataFrame:
    """One row per company and day of `days`: the company's figures, as they are now, for each."""
    rows = [{**base, **{k: v for k, v in block.items() if k != "company"}} for base, block in companies]
    frame = pd.DataFrame.from_records(rows, columns=["company_id", "company_name"] if not rows else None)
    return frame.merge(pd.DataFrame({"date": [d.isoformat() for d in days]}), how="cross")


def _frame(endpoint: Endpoint, companies: list[Company]) -> pd.DataFrame:
    """One row per company-day, or per item of each day (its day's fields repeated, built column-wise)."""
    days: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    counts: list[int] = []
    for base, block in companies:
        company = base["company_id"]
        dates = block.get("dates")
        if not isinstance(dates, list):
            raise PayloadError(f"company {company}: field 'dates' is missing or not a list")
        for day in dates:
            if not isinstance(day, dict) or "date" not in day:
                raise PayloadError(f"company {company}: a 'dates' entry has no 'date'")
            days.append({**base, **_flat_day(endpoint, day)})
            if endpoint.items is None:
                continue
            day_items = day.get(endpoint.items) or []
            if not isinstance(day_items, list):
                raise PayloadError(f"company {company} {day['date']}: '{endpoint.items}' is not a list")
            if not all(isinstance(item, dict) for item in day_items):
                raise PayloadError(f"company {company} {day['date']}: an '{endpoint.items}' entry is not an object")
            items.extend(day_items)
            counts.append(len(day_items))
    frame = pd.DataFrame.from_records(days)
    if endpoint.items is None:
        return frame
    item_frame = pd.DataFrame.from_records(items, index=range(len(items)))
    frame = frame.drop(columns=[c for c in item_frame.columns if c in frame.columns])  # an item field wins
    return frame.loc[frame.index.repeat(counts)].reset_index(drop=True).join(item_frame)


def _flat_day(endpoint: Endpoint, day: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in day.items():
        if key == endpoint.items:
            continue
        if key in endpoint.merged and isinstance(value, dict):
            flat.update(value)
        elif key in endpoint.prefixed and isinstance(value, dict):
            flat.update({endpoint.prefixed[key] + k: v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _docs(endpoint: Endpoint, payload: Payload) -> dict[str, str]:
    docs: dict[str, str] = {}
    blocks = [("", payload.get("metadata"))]
    blocks += [(prefix, payload.get(f"metadata_{key}")) for key, prefix in endpoint.prefixed.items()]
    for prefix, block in blocks:
        if not isinstance(block, dict):
            continue
        for name, meta in block.items():
            if isinstance(meta, dict) and meta.get("description"):
                unit = f" ({meta['unit']})" if meta.get("unit") else ""
                column = endpoint.renames.get(prefix + name, prefix + name)
                docs[column] = plain(f"{meta['description']}{unit}", DESCRIPTION_LENGTH)
    return docs


def _require(frame: pd.DataFrame, name: str) -> None:
    missing = frame[name].isna()
    if missing.any():
        where = frame.loc[missing].iloc[0]
        raise PayloadError(
            f"required field '{name}' is missing (company {where.get('company_id')}, date {where.get('date')})"
        )


def _typed(frame: pd.DataFrame, name: str, sql_type: Any, shown: bool = True) -> pd.Series:
    """The column converted to its table type; a value that does not convert is an error, not a NULL (whose
    message quotes the value when `shown`)."""
    raw = frame[name]
    if isinstance(sql_type, Integer | Float):
        out = pd.to_numeric(raw, errors="coerce")
        if isinstance(sql_type, Integer):
            bad = (raw.notna() & out.isna()) | (out.notna() & (out % 1 != 0))
            out = out.astype("Int64") if not bad.any() else out
        else:
            bad = raw.notna() & out.isna()
            out = out.astype("float64")
    elif isinstance(sql_type, DateTime):
        out = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        bad = raw.notna() & out.isna()
    elif isinstance(sql_type, Date):
        out = pd.to_datetime(raw, errors="coerce", format="%Y-%m-%d")
        bad = raw.notna() & out.isna()
        out = out.dt.date
    else:
        return raw.astype(object).where(raw.notna(), None)
    if bad.any():
        row = frame.loc[bad].iloc[0]
        raise PayloadError(
            f"field '{name}' has a value of the wrong type: {repr(row[name]) if shown else '(hidden)'} "
            f"(company {row.get('company_id')}, date {row.get('date')})"
        )
    return out


def _dedupe(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Drop rows repeated verbatim; two different rows for one key are an error (which one is true?)."""
    if not frame.duplicated(subset=key).any():
        return frame
    frame = frame.drop_duplicates(ignore_index=True)
    clash = frame.duplicated(subset=key, keep=False)
    if clash.any():
        row = frame.loc[clash].iloc[0]
        raise PayloadError(f"{int(clash.sum())} conflicting rows share one key, e.g. {row[key].to_dict()}")
    return frame
