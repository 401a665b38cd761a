"""Alert rules from `alerts.yaml`: validated at load, so a typo fails loudly instead of disabling a rule."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, model_validator
from sqlalchemy import Float, Integer

from reporting_assets.custom_kpis.definition import NO_KPIS, CustomKpi, KpiFile
from reporting_assets.metrics import RATIOS, Ratio
from reporting_assets.warehouse.tables import KPI_TABLES, custom_kpis, group_activity, user_activities

# What a rule `by: <attribute>` watches per group (asset group_activity, its daily rows): a figure, or adoption
GROUP_METRICS = ("active_users", "sessions_count", "queries_count", "headcount", "adoption_rate")
GROUP_ADOPTION = Ratio(("active_users",), ("headcount",))

VS_MEAN = ("drop_vs_mean", "rise_vs_mean")


class RulesError(ValueError):
    """The rules file is invalid; the message names the file, the line and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Severity = Literal["info", "warning", "critical"]


class RuleSettings(_Strict):
    notify_horizon_days: int = Field(3, ge=0)
    group_notifications: bool = True  # one message per channel and tick listing its alerts
    repeat_after_hours: dict[Severity, float] = Field(default_factory=lambda: {"critical": 24.0})

    def horizon(self, today: date) -> date:
        """The oldest day whose alerts are sent on `today`: older ones are recorded only (backfills page nobody)."""
        return today - timedelta(days=self.notify_horizon_days)


class Rule(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    asset: str
    metric: str
    condition: Literal["below", "above", "drop_vs_mean", "rise_vs_mean", "no_data"]
    threshold: float | None = None
    baseline_days: int | None = Field(None, ge=1)
    for_days: int = Field(1, ge=1)
    severity: Severity = "warning"
    companies: Literal["all", "total"] | list[int] = "all"
    by: str | None = Field(None, min_length=1)  # an org attribute: asset group_activity, one alert per group
    group_notifications: bool = True  # false: this rule's notifications always go alone
    repeat_after_hours: float | None = Field(None, ge=0)  # None: settings' for its severity; 0: never

    _custom: CustomKpi | None = PrivateAttr(None)  # the KPI of REPORTING_KPIS a custom_kpis rule watches

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Rule:
        if (self.asset == group_activity.name) != (self.by is not None):
            raise ValueError(f"by: <an org attribute> goes with asset {group_activity.name}, and only with it")
        if self.by is not None:
            if self.metric not in GROUP_METRICS:
                raise ValueError(f"metric {self.metric!r} is not a group figure; use one of {', '.join(GROUP_METRICS)}")
            if self.total:
                raise ValueError("companies: total does not apply to a rule by group")
            return self._check_condition()
        if self.asset == custom_kpis.name:
            self._custom = _custom_kpi(self.metric, (info.context or {}).get("kpis", NO_KPIS))
            return self._check_condition()
        table = KPI_TABLES.get(self.asset)
        if table is None:
            assets = ", ".join([*KPI_TABLES, custom_kpis.name, group_activity.name])
            raise ValueError(f"asset {self.asset!r} is not a KPI asset; use one of {assets}")
        column = table.c.get(self.metric)
        if column is None or column.primary_key or not isinstance(column.type, Integer | Float):
            numeric = [c.name for c in table.columns if isinstance(c.type, Integer | Float) and not c.primary_key]
            raise ValueError(f"metric {self.metric!r} is not a figure of {self.asset}; use one of {', '.join(numeric)}")
        if len(table.primary_key.columns) > 2 and not isinstance(column.type, Integer):
            raise ValueError(
                f"{self.asset} has several rows per company and day and alerts add them up per company: "
                f"metric {self.metric!r} is not a count"
            )
        if self.total and not self.counts and self.total_ratio is None:
            summable = sorted(m for m, r in RATIOS.items() if all(p in table.c for p in r.parts))
            raise ValueError(
                f"companies: total needs a count, or a rate it can recompute from summed parts "
                f"({', '.join(summable)}); {self.metric!r} is neither"
            )
        return self._check_condition()

    def _check_condition(self) -> Rule:
        if self.condition != "no_data" and self.threshold is None:
            raise ValueError(f"threshold is required for condition {self.condition}")
        if self.condition in VS_MEAN:
            if self.baseline_days is None:
                raise ValueError(f"baseline_days is required for condition {self.condition}")
            if self.threshold is not None and not self.threshold > 0:
                raise ValueError("threshold of a *_vs_mean condition is a fraction > 0 (0.5 = 50 %)")
        elif self.baseline_days is not None:
            raise ValueError("baseline_days applies to drop_vs_mean and rise_vs_mean only")
        return self

    @property
    def custom(self) -> CustomKpi | None:
        """The custom KPI the rule watches (asset `custom_kpis`); None for a built-in KPI."""
        return self._custom

    @property
    def ledger_asset(self) -> str:
        """The asset whose load ledger says which days the rule evaluates: a group's figures come from
        `user_activities`' loaded days."""
        return user_activities.name if self.by is not None else self.asset

    @property
    def total_ratio(self) -> Ratio | None:
        """The rate a `companies: total` rule recomputes from the companies' summed parts (all of them columns
        of the rule's table), never by averaging their rates; None for a count."""
        if self._custom is not None:
            return None if self._custom.denominator is None else Ratio(("numerator",), ("denominator",))
        ratio = RATIOS.get(self.metric)
        return ratio if ratio and all(p in KPI_TABLES[self.asset].c for p in ratio.parts) else None

    @property
    def total(self) -> bool:
        """The metric of all companies together (one alert, fingerprint `rule/total`)."""
        return self.companies == "total"

    @property
    def counts(self) -> bool:
        """True when the metric is a count (an absent day means 0), False for rates and ratios (NULL)."""
        if self.by is not None:  # a group absent on a day was folded into (other), or had nobody: unknown, never 0
            return False
        if self._custom is not None:
            return self._custom.denominator is None
        return isinstance(KPI_TABLES[self.asset].c[self.metric].type, Integer)

    @property
    def window_days(self) -> int:
        """Days the metric sums over (1 for a daily figure, 7 for `sessions_7d`...)."""
        if self._custom is not None or self.by is not None:
            return 1
        return KPI_TABLES[self.asset].c[self.metric].info.get("window_days", 1)


class Silence(_Strict):
    rule: str
    company_id: int | None = None
    until: date

    def covers(self, rule: str, company_id: int, day: date) -> bool:
        return self.rule == rule and self.company_id in (None, company_id) and day <= self.until


class RuleSet(_Strict):
    settings: RuleSettings = RuleSettings()
    rules: list[Rule] = []
    silences: list[Silence] = []

    @model_validator(mode="after")
    def _references(self) -> RuleSet:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique: {', '.join(dupes)}")
        unknown = sorted({s.rule for s in self.silences} - set(names))
        if unknown:
            raise ValueError(f"silences name unknown rules: {', '.join(unknown)}")
        return self

    def silenced(self, rule: str, company_id: int, day: date) -> bool:
        return any(s.covers(rule, company_id, day) for s in self.silences)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def repeat_hours(self, rule: str, severity: str) -> float | None:
        """Hours after which a still-firing alert of `rule` is notified again; None: never."""
        own = self.rule(rule)
        hours = own.repeat_after_hours if own and own.repeat_after_hours is not None else None
        hours = self.settings.repeat_after_hours.get(severity) if hours is None else hours  # type: ignore[call-overload]
        return hours or None

    def grouped(self, rule: str) -> bool:
        own = self.rule(rule)
        return self.settings.group_notifications and (own is None or own.group_notifications)


def check_org_data(rules: RuleSet, path: Path | str, org_data: str | None) -> RuleSet:
    """`rules`, unless one of them is by group while REPORTING_ORG_DATA is unset (`group_activity` then does not
    exist): a `RulesError` names them."""
    by_group = [r.name for r in rules.rules if r.by is not None]
    if by_group and not org_data:
        raise RulesError(f"alert rules {path}: {', '.join(by_group)}: by group needs REPORTING_ORG_DATA (the org file)")
    return rules


def _custom_kpi(name: str, kpis: KpiFile) -> CustomKpi:
    """The KPI `name` of the KPI file (REPORTING_KPIS), which a rule on asset custom_kpis must name."""
    if not kpis.kpis:
        raise ValueError("asset custom_kpis needs REPORTING_KPIS: no KPI file is set")
    found = {k.name: k for k in kpis.kpis}.get(name)
    if found is None:
        raise ValueError(f"metric {name!r} is not a KPI of {kpis.path}; use one of {', '.join(kpis.names())}")
    return found


def load_rules(path: Path | str, kpis: KpiFile) -> RuleSet:
    """The rule set of `path` (`REPORTING_ALERT_RULES`: the shipped, commented `alerts.yaml` unless set), its
    rules on `custom_kpis` checked against `kpis` (REPORTING_KPIS)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RulesError(f"alert rules {path}: cannot read the file ({exc.strerror})") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise RulesError(f"alert rules {path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    try:
        return RuleSet.model_validate(data or {}, context={"kpis": kpis})
    except ValidationError as exc:
        problems = [f"{path} line {_line(root, e['loc'])}: {_field(e['loc'])}: {_reason(e)}" for e in exc.errors()]
        raise RulesError("invalid alert rules:\n  " + "\n  ".join(problems)) from None


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _reason(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (a typo?)"
    return str(error["msg"]).removeprefix("Value error, ")


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """1-based line of the YAML node at `loc` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
