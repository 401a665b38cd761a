"""Delivery of what `alert_events` owes: transitions (firing, resolved) and reminders, alone or grouped in one
message per tick, each row advanced only once its message was accepted (see `state.py`, `deliveries.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dagster import OpExecutionContext, SensorEvaluationContext

from reporting_assets.alerts import deliveries, state
from reporting_assets.alerts.episode import Episode
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import RuleSet
from reporting_assets.i18n import NP_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse.store import Warehouse


@dataclass(frozen=True)
class Note:
    """One notification owed: an episode, what to say of it (FIRING, RESOLVED or REMINDER), and what its row
    records as notified (and when) before this note."""

    episode: Episode
    verb: str
    notified: state.Notified
    last_notified_at: datetime | None = None

    @property
    def title(self) -> str:
        return f"[{self.verb}] {self.episode.rule_name} ({self.episode.severity})"

    @property
    def sent(self) -> state.Notified:  # what every channel has been told once this note is delivered
        return state.Notified.RESOLVED if self.verb == "RESOLVED" else state.Notified.FIRING

    @property
    def key(self) -> deliveries.DeliveryKey:
        """What `alert_deliveries` records per channel: the episode, the transition, and for a reminder the
        notification it follows (each reminder is a transition of its own)."""
        last = self.last_notified_at
        occurrence = "" if self.verb != "REMINDER" or last is None else pd.Timestamp(last).isoformat()
        return (self.episode.fingerprint, self.episode.started_at, self.verb.lower(), occurrence)


def _note(stored: state.Stored, verb: str) -> Note:
    return Note(stored.episode, verb, stored.notified, stored.last_notified_at)


Context = SensorEvaluationContext | OpExecutionContext  # who delivers: the alert sensors, the digest job
SEVERITIES = ("critical", "warning", "info")
MAX_LINES = 50  # alert lines in one grouped message: beyond that a reader skims, and channels cut long messages
REPORT_AFTER = timedelta(hours=24)  # a channel refusing this long is reported (tick log, doctor)


def owed(warehouse: Warehouse, rules: RuleSet, now: datetime) -> tuple[list[Note], list[Note]]:
    """What `alert_events` owes now (silenced ones left out and counted): firing and resolved transitions, and
    reminders of alerts still firing once their rule's `repeat_after_hours` has passed."""
    horizon = rules.settings.horizon(now.date())
    notes = [
        _note(stored, "RESOLVED" if stored.episode.status == "resolved" else "FIRING")
        for stored in state.outbox(warehouse.engine, horizon)
    ]
    for stored in state.reminders(warehouse.engine, horizon):
        note = _note(stored, "REMINDER")
        hours = rules.repeat_hours(note.episode.rule_name, note.episode.severity)
        last = note.last_notified_at
        if hours and last is not None and now - last >= timedelta(hours=hours):
            notes.append(note)
    kept = [n for n in notes if not rules.silenced(n.episode.rule_name, n.episode.company_id, n.episode.date)]
    return kept, [n for n in notes if n not in kept]


COUNTED = {
    "FIRING": NP_("{count} firing", "{count} firing"),
    "REMINDER": NP_("{count} reminder", "{count} reminders"),
    "RESOLVED": NP_("{count} resolved", "{count} resolved"),
}


def grouped_message(notes: list[Note], notifier: Notifier, lang: Language) -> tuple[str, str, str]:
    """One message for several notes: counts in the title, one line per alert grouped by severity, the most
    severe first; past `MAX_LINES` alerts, "and K more" says where to see them all."""
    verbs = [n.verb for n in notes]
    title = "[ALERTS] " + ", ".join(
        lang.ngettext(*COUNTED[v], verbs.count(v)).format(count=verbs.count(v))
        for v in ("FIRING", "REMINDER", "RESOLVED")
        if v in verbs
    )
    ordered = sorted(notes, key=lambda n: SEVERITIES.index(n.episode.severity))
    lines = []
    for severity in SEVERITIES:
        of = [n for n in ordered[:MAX_LINES] if n.episode.severity == severity]
        if of:
            lines.append(severity.upper())
            lines += [f"{n.title}: {n.episode.message} ({_link(n, notifier)})" for n in of]
    if len(ordered) > MAX_LINES:
        more = lang.gettext(
            "... and {count} more: every alert is in the warehouse table alert_events, on the dashboard, and at {link}"
        )
        lines.append(more.format(count=len(ordered) - MAX_LINES, link=notifier.asset_link("alert_events")))
    worst = next(
        (s for s in SEVERITIES if any(n.verb != "RESOLVED" and n.episode.severity == s for n in notes)), "resolved"
    )
    return title, "\n".join(lines), worst


def _link(note: Note, notifier: Notifier) -> str:
    return notifier.asset_link(note.episode.asset, note.episode.date)


def _batches(notes: list[Note], rules: RuleSet) -> list[list[Note]]:
    """Messages of one channel: the notes of grouped rules together when there are several, the others alone."""
    group = [n for n in notes if rules.grouped(n.episode.rule_name)]
    return [[n] for n in notes if n not in group] + ([group] if len(group) > 1 else [[n] for n in group])


def _message(batch: list[Note], channel: Notifier, lang: Language) -> tuple[str, str, str]:
    if len(batch) > 1:
        return grouped_message(batch, channel, lang)
    [note] = batch
    kind = "resolved" if note.verb == "RESOLVED" else note.episode.severity
    return note.title, f"{note.episode.message}\n{_link(note, channel)}", kind


def deliver(
    context: SensorEvaluationContext,
    warehouse: Warehouse,
    notifier: Notifier,
    rules: RuleSet,
    now: datetime,
    lang: Language,
) -> dict[str, int]:
    """Send what `alert_events` owes to each channel on its own, alone or grouped as the rules say (grouped
    messages' lines in `lang`).

    Each channel's deliveries are recorded in `alert_deliveries`: a channel gets only what it has not accepted
    yet, so one refusing never makes another get a message twice. A refusing channel is retried on later
    ticks with backoff (`alert_channels`), and reported once when it has refused for `REPORT_AFTER`. An alert
    is marked notified in `alert_events` once every channel has it. Counts: alerts completed this tick (sent),
    silenced, and still owed to a channel (failed: retried later)."""
    notes, silenced = owed(warehouse, rules, now)
    counts = {"sent": 0, "silenced": len(silenced), "failed": 0}
    for note in silenced:
        context.log.info(f"silenced: {note.episode.fingerprint} on {note.episode.date}")
    channels = notifier.channels()
    engine = warehouse.engine
    done = deliveries.delivered(engine, [n.key for n in notes])
    failing = deliveries.failing_channels(engine)
    for channel in channels:
        todo = [n for n in notes if (n.key, channel.key) not in done]
        streak = failing.get(channel.key)
        if not todo or (streak and now < streak.retry_at):
            continue
        [target] = channel.targets()
        for batch in _batches(todo, rules):
            title, body, kind = _message(batch, channel, lang)
            if not channel.send(title, body, kind):
                _refused(context, warehouse, channel.key, target, now, f"{len(todo)} alert(s)")
                break
            deliveries.record(engine, [n.key for n in batch], channel.key, now)
            done |= {(n.key, channel.key) for n in batch}
            context.log.info(f"notified {target}: " + "; ".join(f"{n.title} {n.episode.fingerprint}" for n in batch))
        else:
            if streak:
                deliveries.accepted(engine, channel.key)
    for note in notes:
        if all((note.key, channel.key) in done for channel in channels):
            state.mark_sent(engine, note.key[:2], note.notified, note.sent, now)
            counts["sent"] += 1
        else:
            counts["failed"] += 1
    return counts


def deliver_once(
    context: Context,
    warehouse: Warehouse,
    notifier: Notifier,
    key: deliveries.DeliveryKey,
    message: tuple[str, str, str],
    now: datetime,
) -> list[str]:
    """One notification (`key`: title, body, kind) to each channel that lacks it, with the same backoff and
    report as alerts: run failures (from a sensor) and weekly digests (from a job). Returns the channels (masked)
    still owed it: they refused, or wait their backoff."""
    engine = warehouse.engine
    done, failing, owed = deliveries.delivered(engine, [key]), deliveries.failing_channels(engine), []
    for channel in notifier.channels():
        if (key, channel.key) in done:
            continue
        [target] = channel.targets()
        streak = failing.get(channel.key)
        if streak and now < streak.retry_at:
            owed.append(target)
        elif not channel.send(*message):
            _refused(context, warehouse, channel.key, target, now, f"{key[0]}")
            owed.append(target)
        else:
            deliveries.record(engine, [key], channel.key, now)
            if streak:
                deliveries.accepted(engine, channel.key)
            context.log.info(f"notified {target}: {message[0]} {key[0]}")
    return owed


def _refused(context: Context, warehouse: Warehouse, key: str, target: str, now: datetime, what: str) -> None:
    streak = deliveries.refused(warehouse.engine, key, now)
    context.log.warning(
        f"{target} refused {what} ({streak.failures} refusals in a row): retried from "
        f"{streak.retry_at:%Y-%m-%d %H:%M} UTC; the other channels are not sent them again"
    )
    if now - streak.failing_since >= REPORT_AFTER and streak.reported_at is None:
        context.log.error(
            f"{target} has refused every alert since {streak.failing_since:%Y-%m-%d %H:%M} UTC: check it "
            "(python -m reporting_assets.doctor --test-notification)"
        )
        deliveries.mark_reported(warehouse.engine, key, now)
