"""The KPI file (`REPORTING_KPIS`), read and validated against the BI contract when the code location loads.

A KPI is a `sum` of one additive column of a daily contract view, or a `ratio` of such a sum to another sum, to
the distinct active users (`per_active_user`) or to a level (`{view: ..., level: ...}`, such as members); `where`
filters the view on its key and attribute columns (`=`, `in`, `like`). A level or people are never summed over
days: over a period they are the period's distinct people or its last loaded day's level (`Part.kind`). Each
mistake stops the load with one message naming the file, the KPI and the field (`KpiFileError`). Nothing of the
file becomes SQL text: `compute` binds its values as parameters on columns the contract declares.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from reporting_assets.i18n import LANGUAGES

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FORMATS = ("percent", "number", "decimal")
KPI_FIELDS = {"name", "label", "description", "format", "sum", "ratio"}
Op = Literal["=", "in", "like"]
Kind = Literal["sum", "level", "distinct"]  # how a part aggregates over days: summed, last day's, people once
PER_ACTIVE_USER = "per_active_user"  # a ratio's denominator: the distinct active users
Scalar = str | int | float


class KpiFileError(ValueError):
    """The KPI file is unreadable or invalid: the message names the file, the KPI and the field."""


@dataclass(frozen=True)
class Filter:
    column: str
    op: Op
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class Part:
    """`column` of contract view `view` per day and company, over its rows matching every filter: summed (a count),
    or a level or distinct people (one row per day and company, no filter)."""

    view: str
    column: str
    filters: tuple[Filter, ...] = ()
    kind: Kind = "sum"


@dataclass(frozen=True)
class CustomKpi:
    name: str
    label: dict[str, str]  # language -> label; "en" always there
    description: str
    format: Literal["percent", "number", "decimal"]
    numerator: Part
    denominator: Part | None = None  # None: a sum

    @property
    def additive(self) -> bool:
        """Its parts add up over days (a sum, or a ratio of sums): False for a ratio to a level or to people."""
        return self.denominator is None or self.denominator.kind == "sum"

    def label_in(self, code: str) -> str:
        return self.label.get(code) or self.label["en"]


@dataclass(frozen=True)
class KpiFile:
    path: Path | None
    kpis: tuple[CustomKpi, ...] = field(default=())

    @property
    def digest(self) -> str:
        """Changes with any definition (not with comments or layout): the asset's code version."""
        text = json.dumps([asdict(k) for k in self.kpis], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def names(self) -> list[str]:
        return [k.name for k in self.kpis]


NO_KPIS = KpiFile(None)  # REPORTING_KPIS unset
EXAMPLE_KPIS = Path(__file__).parent / "example.yaml"  # seven KPIs: docs/your-kpis.md's worked examples


def of(path: Path | None) -> KpiFile:
    """The KPI file of REPORTING_KPIS (`path`), or none when it is unset."""
    return NO_KPIS if path is None else load(path)


def usable_views() -> dict[str, Any]:
    """The contract's views a KPI may read: one row per day and company, no user ids."""
    from reporting_assets.bi.contract import VIEWS

    return {
        n: v
        for n, v in VIEWS.items()
        if v.dated and v.per_company and not v.per_user and "custom_kpis" not in {t.name for t in v.sources}
    }


def load(path: Path) -> KpiFile:
    """The KPI file at `path`, validated; `KpiFileError` on the first mistake."""
    import yaml

    try:
        parsed = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KpiFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where else ""
        raise KpiFileError(f"{path}: not valid YAML{at}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("kpis"), list) or set(parsed) - {"kpis"}:
        raise KpiFileError(f"{path}: expected a mapping with one key, `kpis`: a list of KPIs")
    kpis, seen = [], set()
    for position, spec in enumerate(parsed["kpis"], start=1):
        kpi = _kpi(path, position, spec)
        if kpi.name in seen:
            raise KpiFileError(f"{path}: KPI {kpi.name!r}: name: used by another KPI of the file")
        seen.add(kpi.name)
        kpis.append(kpi)
    return KpiFile(path, tuple(kpis))


def _kpi(path: Path, position: int, spec: Any) -> CustomKpi:
    name = spec.get("name") if isinstance(spec, dict) else None
    who = f"KPI {name!r}" if isinstance(name, str) else f"KPI #{position}"

    def fail(where: str, why: str) -> KpiFileError:
        return KpiFileError(f"{path}: {who}: {where}: {why}")

    if not isinstance(spec, dict):
        raise fail("", "expected a mapping (name, label, format, sum or ratio)")
    if unknown := sorted(set(spec) - KPI_FIELDS):
        raise fail(unknown[0], f"unknown field (expected one of {', '.join(sorted(KPI_FIELDS))})")
    if not isinstance(name, str) or not NAME.match(name):
        raise fail("name", "must match [a-z][a-z0-9_]* (it is a key in tables, rules and BI kits)")
    label = spec.get("label")
    if not isinstance(label, dict) or not isinstance(label.get("en"), str) or not label["en"].strip():
        raise fail("label", "an English label is required: label: {en: ...}")
    if bad := sorted(str(k) for k, v in label.items() if k not in LANGUAGES or not isinstance(v, str)):
        raise fail(f"label.{bad[0]}", f"expected a text in one of {', '.join(LANGUAGES)}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "expected a text")
    if spec.get("format") not in FORMATS:
        raise fail("format", f"expected one of {', '.join(FORMATS)}")
    if ("sum" in spec) == ("ratio" in spec):
        raise fail("sum", "a KPI is either a `sum` or a `ratio`, exactly one of them")
    if "sum" in spec:
        numerator, denominator = _part(fail, "sum", spec["sum"], "column"), None
    else:
        ratio = spec["ratio"]
        if not isinstance(ratio, dict) or set(ratio) != {"numerator", "denominator"}:
            raise fail("ratio", "expected numerator and denominator, each {view: ..., sum: ...}")
        numerator = _part(fail, "ratio.numerator", ratio["numerator"], "sum")
        denominator = _denominator(fail, ratio["denominator"])
    return CustomKpi(name, dict(label), description, spec["format"], numerator, denominator)


def _denominator(fail, spec: Any) -> Part:
    """A ratio's denominator: a sum, `per_active_user` (the distinct active users of fct_daily_usage) or a level."""
    if spec == PER_ACTIVE_USER:
        return Part("fct_daily_usage", "active_users", (), "distinct")
    if not isinstance(spec, dict) or "level" not in spec:
        return _part(fail, "ratio.denominator", spec, "sum")
    where = "ratio.denominator"
    views = usable_views()
    if set(spec) != {"view", "level"}:
        raise fail(where, "a level takes no filter: expected {view: ..., level: ...}")
    view = views.get(spec["view"])
    if view is None:
        raise fail(f"{where}.view", f"unknown view {spec['view']!r} (one of {', '.join(views)})")
    levels = [f.name for f in view.fields if f.kind == "level"]
    if spec["level"] not in levels:
        raise fail(f"{where}.level", f"{spec['level']!r} is not a level of {view.name} ({', '.join(levels) or 'none'})")
    return Part(view.name, spec["level"], (), "level")


def _part(fail, where: str, spec: Any, column_key: str) -> Part:
    views = usable_views()
    if not isinstance(spec, dict) or set(spec) - {"view", column_key, "where"}:
        raise fail(where, f"expected {{view: ..., {column_key}: ..., where: ...}} (where optional)")
    view = views.get(spec.get("view"))
    if view is None:
        raise fail(f"{where}.view", f"unknown view {spec.get('view')!r} (one of {', '.join(views)})")
    kinds = {f.name: f.kind for f in view.fields}
    column = spec.get(column_key)
    if kinds.get(column) != "count":
        additive = ", ".join(n for n, k in kinds.items() if k == "count")
        raise fail(f"{where}.{column_key}", f"{column!r} is not an additive column of {view.name} ({additive})")
    filters = spec.get("where") or {}
    if not isinstance(filters, dict):
        raise fail(f"{where}.where", "expected a mapping: column: value, {in: [...]} or {like: ...}")
    filterable = [n for n, k in kinds.items() if k in ("key", "attribute") and n not in ("date", "company_id")]
    out = []
    for name, value in filters.items():
        if name not in filterable:
            known = ", ".join(filterable) or "none"
            raise fail(f"{where}.where.{name}", f"not a key or attribute column of {view.name} ({known})")
        out.append(_filter(fail, f"{where}.where.{name}", name, value))
    return Part(view.name, column, tuple(out))


def _filter(fail, where: str, column: str, value: Any) -> Filter:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return Filter(column, "=", value)
    if isinstance(value, dict) and len(value) == 1:
        [(op, operand)] = value.items()
        if op == "in" and isinstance(operand, list) and operand and all(_scalar(v) for v in operand):
            return Filter(column, "in", tuple(operand))
        if op == "like" and isinstance(operand, str):
            return Filter(column, "like", operand)
    raise fail(where, "expected a value, {in: [values]} or {like: pattern}")


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)
