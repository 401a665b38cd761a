"""The five reporting endpoints: where each lives, which table it fills, and how its JSON becomes rows.

`flatten` is pure: nested `reporting[].dates[]` JSON in, a typed DataFrame out, with the columns of the
endpoint's warehouse table. Unknown fields are dropped and listed as schema drift; a missing key field or a
value of the wrong type raises `PayloadError`, which the resource turns into a `ParadigmResponseError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, DateTime, Float, Integer, Table

from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse import tables


class PayloadError(ValueError):
    """The payload does not have the documented shape; the message says which field and where."""


@dataclass(frozen=True)
class Flattened:
    frame: pd.DataFrame
    drift: list[str]  # unknown field names met in the payload, sorted
    docs: dict[str, str]  # column -> description from the payload's own `metadata` block


@dataclass(frozen=True)
class Endpoint:
    """One reporting endpoint: URL path, target table, and how its per-date objects nest."""

    table: Table
    path: str
    description: str
    items: str | None = None  # per-date list holding one row each (tools, documents, users)
    merged: tuple[str, ...] = ()  # per-date objects whose fields are columns as they are
    prefixed: Mapping[str, str] = field(default_factory=dict)  # per-date objects -> column prefix
    renames: Mapping[str, str] = field(default_factory=dict)  # API field -> column

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def key(self) -> list[str]:
        return [c.name for c in self.table.primary_key.columns]

    def flatten(self, payload: Mapping[str, Any]) -> Flattened:
        frame = self._frame(payload).rename(columns=dict(self.renames))
        columns = [c.name for c in self.table.columns if c.name != "ingested_at"]
        drift = sorted(str(c) for c in frame.columns if c not in columns)
        frame = frame.reindex(columns=columns)
        for name in [*self.key, "company_name"]:
            _require(frame, name)
        for column in self.table.columns:
            if column.name in frame.columns:
                frame[column.name] = _typed(frame, column.name, column.type)
        return Flattened(_dedupe(frame, self.key), drift, self._docs(payload))

    def _frame(self, payload: Mapping[str, Any]) -> pd.DataFrame:
        """One row per company-day, or per item of each day (its day's fields repeated, built column-wise)."""
        reporting = payload.get("reporting")
        if not isinstance(reporting, list):
            raise PayloadError("field 'reporting' is missing or not a list")
        days: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        counts: list[int] = []
        for block in reporting:
            company = block.get("company") if isinstance(block, dict) else None
            if not isinstance(company, dict) or "id" not in company:
                raise PayloadError("a 'reporting' entry has no 'company' with an 'id'")
            base = {"company_id": company["id"], "company_name": company.get("name")}
            dates = block.get("dates")
            if not isinstance(dates, list):
                raise PayloadError(f"company {company['id']}: field 'dates' is missing or not a list")
            for day in dates:
                if not isinstance(day, dict) or "date" not in day:
                    raise PayloadError(f"company {company['id']}: a 'dates' entry has no 'date'")
                days.append({**base, **self._flat_day(day)})
                if self.items is None:
                    continue
                day_items = day.get(self.items) or []
                if not isinstance(day_items, list):
                    raise PayloadError(f"company {company['id']} {day['date']}: '{self.items}' is not a list")
                if not all(isinstance(item, dict) for item in day_items):
                    raise PayloadError(
                        f"company {company['id']} {day['date']}: an '{self.items}' entry is not an object"
                    )
                items.extend(day_items)
                counts.append(len(day_items))
        frame = pd.DataFrame.from_records(days)
        if self.items is None:
            return frame
        item_frame = pd.DataFrame.from_records(items, index=range(len(items)))
        frame = frame.drop(columns=[c for c in item_frame.columns if c in frame.columns])  # an item field wins
        return frame.loc[frame.index.repeat(counts)].reset_index(drop=True).join(item_frame)

    def _flat_day(self, day: Mapping[str, Any]) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for key, value in day.items():
            if key == self.items:
                continue
            if key in self.merged and isinstance(value, dict):
                flat.update(value)
            elif key in self.prefixed and isinstance(value, dict):
                flat.update({self.prefixed[key] + k: v for k, v in value.items()})
            else:
                flat[key] = value
        return flat

    def _docs(self, payload: Mapping[str, Any]) -> dict[str, str]:
        docs: dict[str, str] = {}
        blocks = [("", payload.get("metadata"))]
        blocks += [(prefix, payload.get(f"metadata_{key}")) for key, prefix in self.prefixed.items()]
        for prefix, block in blocks:
            if not isinstance(block, dict):
                continue
            for name, meta in block.items():
                if isinstance(meta, dict) and meta.get("description"):
                    unit = f" ({meta['unit']})" if meta.get("unit") else ""
                    docs[self.renames.get(prefix + name, prefix + name)] = f"{meta['description']}{unit}"
        return docs


def _require(frame: pd.DataFrame, name: str) -> None:
    missing = frame[name].isna()
    if missing.any():
        where = frame.loc[missing].iloc[0]
        raise PayloadError(
            f"required field '{name}' is missing (company {where.get('company_id')}, date {where.get('date')})"
        )


def _typed(frame: pd.DataFrame, name: str, sql_type: Any) -> pd.Series:
    """The column converted to its table type; a value that does not convert is an error, not a NULL."""
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
            f"field '{name}' has a value of the wrong type: {row[name]!r} "
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


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint(
            tables.chat_sessions,
            "/api/v2/reporting/chat-sessions/",
            "Daily chat sessions per company: sessions, queries, responses (agent-mode figures when present).",
            merged=("sessions", "chats"),
            prefixed={"agent": "agent_", "threads": "agent_"},
            renames={
                "average_session_length": "average_session_length_s",
                "last_model_response_date": "last_model_response_at",
                "agent_average_thread_length": "agent_average_thread_length_s",
            },
        ),
        Endpoint(
            tables.chat_feedbacks,
            "/api/v2/reporting/chats-feedback/",
            "Daily feedback on model responses per company: likes, dislikes, copies.",
            merged=("feedbacks",),
        ),
        Endpoint(
            tables.tools_usage,
            "/api/v2/reporting/tools/",
            "Daily usage count of each tool per company.",
            items="tools",
        ),
        Endpoint(
            tables.used_documents,
            "/api/v2/reporting/used-documents/",
            "Daily usage count of each document cited in answers, per company.",
            items="documents",
        ),
        Endpoint(
            tables.user_activities,
            "/api/v2/reporting/user-activities/",
            "Daily activity of each active user per company (user ids only, no personal data).",
            items="users",
            renames={"last_activity_date": "last_activity_at"},
        ),
    )
}
