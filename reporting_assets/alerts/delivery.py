"""Delivery of what `alert_events` owes: transitions (firing, resolved) and reminders, alone or grouped in one
message per tick, each row advanced only once its message was accepted (see `state.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dagster import SensorEvaluationContext

from reporting_assets.alerts import state
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import RuleSet
from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse.store import Warehouse


@dataclass(frozen=True)
class Note:
    """One notification owed: an episode and what to say of it (FIRING, RESOLVED or REMINDER)."""

    episode: dict
    verb: str

    @property
    def title(self) -> str:
        return f"[{self.verb}] {self.episode['rule_name']} ({self.episode['severity']})"

    @property
    def sent(self) -> int:  # `notifications_sent` once delivered
        return 2 if self.verb == "RESOLVED" else 1


SEVERITIES = ("critical", "warning", "info")
MAX_LINES = 50  # alert lines in one grouped message: beyond that a reader skims, and channels cut long messages


def owed(warehouse: Warehouse, rules: RuleSet, now: datetime) -> tuple[list[Note], list[Note]]:
    """What `alert_events` owes now (silenced ones left out and counted): firing and resolved transitions, and
    reminders of alerts still firing once their rule's `repeat_after_hours` has passed."""
    horizon = rules.settings.notify_horizon_days
    notes = [
        Note(e, "RESOLVED" if e["status"] == "resolved" else "FIRING")
        for e in state.outbox(warehouse.engine, now.date(), horizon).to_dict("records")
    ]
    for episode in state.reminders(warehouse.engine, now.date(), horizon).to_dict("records"):
        hours = rules.repeat_hours(episode["rule_name"], episode["severity"])
        last = episode["last_notified_at"]
        if hours and not pd.isna(last) and now - last.to_pydatetime() >= timedelta(hours=hours):
            notes.append(Note(episode, "REMINDER"))
    kept = [n for n in notes if not rules.silenced(n.episode["rule_name"], n.episode["company_id"], n.episode["date"])]
    return kept, [n for n in notes if n not in kept]


def grouped_message(notes: list[Note], notifier: Notifier) -> tuple[str, str, str]:
    """One message for several notes: counts in the title, one line per alert grouped by severity, the most
    severe first; past `MAX_LINES` alerts, "and K more" says where to see them all."""
    verbs = [n.verb for n in notes]
    title = "[ALERTS] " + ", ".join(
        f"{verbs.count(v)} {v.lower()}" for v in ("FIRING", "REMINDER", "RESOLVED") if v in verbs
    )
    ordered = sorted(notes, key=lambda n: SEVERITIES.index(n.episode["severity"]))
    lines = []
    for severity in SEVERITIES:
        of = [n for n in ordered[:MAX_LINES] if n.episode["severity"] == severity]
        if of:
            lines.append(severity.upper())
            lines += [f"{n.title}: {n.episode['message']} ({_link(n, notifier)})" for n in of]
    if len(ordered) > MAX_LINES:
        lines.append(
            f"... and {len(ordered) - MAX_LINES} more: every alert is in the warehouse table alert_events, "
            f"on the dashboard, and at {notifier.asset_link('alert_events')}"
        )
    worst = next(
        (s for s in SEVERITIES if any(n.verb != "RESOLVED" and n.episode["severity"] == s for n in notes)), "resolved"
    )
    return title, "\n".join(lines), worst


def _link(note: Note, notifier: Notifier) -> str:
    return notifier.asset_link(note.episode["asset"], note.episode["date"])


def deliver(
    context: SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier, rules: RuleSet, now: datetime
) -> dict[str, int]:
    """Send what `alert_events` owes: alone, or grouped in one message when the rules allow and there are several.
    A failed send leaves its rows as they were (a group as a whole), so the next tick tries again; a delivered
    alert is marked at once and never sent again for that transition."""
    notes, silenced = owed(warehouse, rules, now)
    counts = {"sent": 0, "silenced": len(silenced), "failed": 0}
    for note in silenced:
        context.log.info(f"silenced: {note.episode['fingerprint']} on {note.episode['date']}")
    group = [n for n in notes if rules.grouped(n.episode["rule_name"])]
    batches = [[n] for n in notes if n not in group] + ([group] if len(group) > 1 else [[n] for n in group])
    for batch in batches:
        if len(batch) == 1:
            [note] = batch
            kind = "resolved" if note.verb == "RESOLVED" else note.episode["severity"]
            title, body = note.title, f"{note.episode['message']}\n{_link(note, notifier)}"
        else:
            title, body, kind = grouped_message(batch, notifier)
        if notifier.send(title, body, kind):
            for note in batch:
                state.mark_sent(warehouse.engine, note.episode, note.sent, now)
                context.log.info(f"notified {note.title}: {note.episode['message']}")
            counts["sent"] += len(batch)
        else:
            counts["failed"] += len(batch)
            context.log.warning(
                f"delivery failed, retried next tick: {title} ({len(batch)} alerts) to {', '.join(notifier.targets())}"
            )
    return counts
