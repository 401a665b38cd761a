"""Faults a test switches on: a status, a delay, a broken or dropped answer, a field changed, a day, row or
company altered."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """One injected misbehaviour, applied to `times` matching requests (None: until cleared) once `after`
    matching requests have been answered normally.

    kinds: `status` (answer `status`, with `Retry-After` when `retry_after` is set), `delay` (answer late by
    `delay_s`), `malformed` (truncated JSON), `drop` (reset the connection), `missing_field` (remove `field`
    everywhere), `extra_field` / `wrong_type` (set `field` to `value` in every per-date and item object),
    `empty_day` (day `value`, YYYY-MM-DD, reported without activity), `duplicate_row` (each company's first
    day listed twice; with `field`, the copy has `field` = `value`), `drop_company` (company id `value` left
    out of the answer, e.g. from the second request of a range on with `after=1`).
    """

    kind: str
    times: int | None = 1
    endpoint: str | None = None  # e.g. "tools"; None matches every endpoint
    after: int = 0
    status: int = 503
    retry_after: float | None = None
    delay_s: float = 0.0
    field: str | None = None
    value: Any = None


@dataclass
class Faults:
    pending: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> None:
        with self.lock:
            self.pending.append(fault)

    def clear(self) -> None:
        with self.lock:
            self.pending.clear()

    def take(self, endpoint: str) -> list[Fault]:
        """The faults that apply to this request, spending one use of each."""
        with self.lock:
            matching = [f for f in self.pending if f.endpoint in (None, endpoint)]
            hit = [f for f in matching if f.after == 0]
            for f in matching:
                if f.after:
                    f.after -= 1
                elif f.times is not None:
                    f.times -= 1
            self.pending = [f for f in self.pending if f.times is None or f.times > 0]
            return hit


def rewrite(node: Any, fault: Fault) -> None:
    """Apply a field fault to every per-date and item object below `node`."""
    if isinstance(node, list):
        for item in node:
            rewrite(item, fault)
    elif isinstance(node, dict):
        snapshot = "company" in node and "dates" not in node  # a company's members entry
        is_record = snapshot or "date" in node or any(k.endswith("_id") or k == "tool_name" for k in node)
        for value in node.values():
            rewrite(value, fault)
        if fault.kind == "missing_field":
            node.pop(fault.field, None)
        elif is_record and (fault.kind == "extra_field" or fault.field in node):
            node[fault.field] = fault.value


def _empty_day(reporting: list[dict[str, Any]], fault: Fault) -> None:
    for company in reporting:
        if "dates" in company:
            company["dates"] = [d for d in company["dates"] if d["date"] != fault.value]


def _duplicate_row(reporting: list[dict[str, Any]], fault: Fault) -> None:
    for company in reporting:
        if company.get("dates"):
            twin = copy.deepcopy(company["dates"][0])
            if fault.field:
                twin[fault.field] = fault.value
            company["dates"].insert(1, twin)


def _drop_company(reporting: list[dict[str, Any]], fault: Fault) -> None:
    reporting[:] = [c for c in reporting if c["company"]["id"] != fault.value]


PAYLOAD_FAULTS = {"empty_day": _empty_day, "duplicate_row": _duplicate_row, "drop_company": _drop_company}
