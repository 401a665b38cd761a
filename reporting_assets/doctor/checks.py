"""The doctor's checks, each a `Check` (name, ok, detail) whose `line` the command and the job print."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from reporting_assets.clock import Clock, utc_now
from reporting_assets.neutralise import plain

DETAIL_LENGTH = 1000  # characters of one check's detail
OPTIONAL_PREFIXES = ("agent_",)  # columns the API returns only in some modes: absent is not a fault
REDACTED_KEYS = ("name", "title", "filename", "email")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """One line: the detail may quote API text or an error (`plain`); secrets are masked by `checks`."""
        return f"{'✓' if self.ok else '✗'} {self.name}: {plain(self.detail, DETAIL_LENGTH)}"


def redact(node: Any, ids: dict[Any, int] | None = None) -> Any:
    """`node` with every id replaced by a stable stand-in and every name, title, file name or e-mail removed."""
    ids = {} if ids is None else ids
    if isinstance(node, list):
        return [redact(item, ids) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if (key == "id" or key.endswith("_id")) and isinstance(value, int | str):
            out[key] = ids.setdefault((key, value), len(ids) + 1)
        elif any(part in key for part in REDACTED_KEYS) and isinstance(value, str):
            out[key] = "redacted"
        else:
            out[key] = redact(value, ids)
    return out


def _endpoints(settings: Any, day: date, samples: Path | None) -> Iterator[Check]:
    from reporting_assets.paradigm.endpoints import ENDPOINTS
    from reporting_assets.paradigm.errors import ParadigmError
    from reporting_assets.paradigm.flatten import PayloadError, flatten
    from reporting_assets.resources import paradigm_resource

    paradigm = paradigm_resource(settings, resolved=True, max_retries=1, retry_backoff_s=0.2, timeout_s=20.0)
    try:
        client = paradigm.client()
    except ParadigmError as exc:
        yield Check("API", False, str(exc))
        return
    with client:
        for position, endpoint in enumerate(ENDPOINTS.values()):
            began = time.perf_counter()
            try:
                payload = client.get_report(endpoint.path, day, day, paradigm.company_id)
            except ParadigmError as exc:
                name = "API" if position == 0 else endpoint.path
                yield Check(name, False, str(exc))
                if position == 0:  # unreachable, TLS, token or role: every endpoint would say the same
                    return
                continue
            took = time.perf_counter() - began
            if position == 0:
                where = "the demo simulator" if settings.demo else settings.paradigm_base_url
                yield Check("API", True, f"{where} answered, token accepted ({took:.2f} s)")
            if samples:
                samples.mkdir(parents=True, exist_ok=True)
                (samples / f"{endpoint.slug}.json").write_text(json.dumps(redact(payload), indent=2) + "\n")
            try:
                rows = flatten(endpoint, payload, [day], paradigm.user_id_key or None)  # no raw id in a message
            except PayloadError as exc:
                yield Check(endpoint.path, False, f"unexpected payload for {day}: {exc}")
                continue
            frame = rows.frame
            absent = [
                c for c in frame.columns if frame[c].isna().all() and not c.startswith(OPTIONAL_PREFIXES)
            ] if len(frame) else []  # fmt: skip
            drift = f"; unknown fields (ignored): {', '.join(rows.drift)}" if rows.drift else ""
            if absent:
                yield Check(endpoint.path, False, f"fields missing from every row for {day}: {', '.join(absent)}")
            else:
                yield Check(endpoint.path, True, f"HTTP 200 in {took:.2f} s, {len(frame)} rows for {day}{drift}")


def _warehouse(url: str) -> Iterator[Check]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from reporting_assets.warehouse import migrate

    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)  # as the store does on first use
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            revision, head = migrate.current(conn), migrate.head()
        with engine.begin() as conn:  # writable: a table created and dropped (SQLite DDL is not transactional)
            for statement in ("DROP TABLE IF EXISTS doctor_probe", "CREATE TABLE doctor_probe (x INTEGER)"):
                conn.execute(text(statement))
            conn.execute(text("DROP TABLE doctor_probe"))
    except Exception as exc:
        yield Check("warehouse", False, f"{shown}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return
    finally:
        engine.dispose()
    if revision == head:
        state = f"schema at {head} (latest)"
    elif revision is None:
        state = "new or from before migrations: brought to the latest schema on first use"
    else:
        state = f"schema at {revision}, latest {head}: upgraded on first use"
    yield Check("warehouse", True, f"{shown} reachable and writable, {state}")
    last = _last_loaded(url) if revision is not None else None
    if last is None:  # a setup state, not an incident: nobody is paged for it either
        yield Check("loads", True, "nothing loaded yet: run a backfill or wait for daily_refresh")
    else:
        yield Check("loads", True, f"last day loaded: {last}")


def _last_loaded(url: str) -> date | None:
    from sqlalchemy import create_engine, func, select

    from reporting_assets.warehouse.tables import load_log

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.max(load_log.c.date))).scalar_one()
    finally:
        engine.dispose()


def _bi_contract(url: str, user_lists: bool) -> Iterator[Check]:
    """Whether the BI contract's views are there and current, and who may read them (PostgreSQL)."""
    from sqlalchemy import create_engine

    from reporting_assets.bi import access, views

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            state = views.status(conn, user_lists)
            readers = access.readers(conn) if views.schema_of(conn) and not state.missing else []
    except Exception as exc:  # the warehouse check has said why it cannot be reached
        yield Check("BI contract", False, f"cannot be read: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return
    finally:
        engine.dispose()
    if len(state.missing) == len(views.expected(user_lists)):  # a setup state: the asset publishes it when missing
        yield Check("BI contract", True, "not published yet: materialize bi_contract (automatic once the daemon runs)")
        return
    who = f"; readers: {', '.join(map(str, readers))}" if readers else ""
    yield Check("BI contract", state.current, state.summary() + who)


def _reports(settings: Any) -> Iterator[Check]:
    """Whether the dashboard can be written where `REPORTING_REPORTS_DIR` says."""
    from reporting_assets.reports import store

    where = store.shown(settings.reports_dir)
    try:
        store.check(settings.reports_dir)
    except Exception as exc:  # any store's error: named, one line, no credentials (they are not in the URL we show)
        yield Check("reports", False, f"cannot write to {where}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return
    yield Check("reports", True, f"{where} is writable")


def _privacy(settings: Any) -> Iterator[Check]:
    """Whether user ids are pseudonymised, and whether the stored ones were made with this key; the retention."""
    from sqlalchemy import create_engine

    from reporting_assets.users import pseudonyms

    key = settings.reporting_user_id_key.get_secret_value() if settings.reporting_user_id_key else None
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            stored = pseudonyms.stored_since(conn)
    except Exception:  # a warehouse not migrated yet holds no pseudonym
        stored = None
    finally:
        engine.dispose()
    if stored and (not key or stored[0] != pseudonyms.key_check(key)):
        problem = "is unset" if not key else "is not the key they were made with"
        yield Check(
            "pseudonymisation", False, f"stored user ids are pseudonyms (since {stored[1]:%Y-%m-%d}) but "
            f"REPORTING_USER_ID_KEY {problem}: set it back, or run `{pseudonyms.RESET}`",
        )  # fmt: skip
    elif key:
        state = (
            f"stored ids made with this key since {stored[1]:%Y-%m-%d}"
            if stored
            else "raw ids stored before are converted at the next user_activities load"
        )
        yield Check("pseudonymisation", True, f"on (REPORTING_USER_ID_KEY): {state}")
    else:
        yield Check("pseudonymisation", True, "off: user ids stored as the API gives them (REPORTING_USER_ID_KEY)")
    days = settings.reporting_user_retention_days
    kept = (
        f"{days} days, then deleted by user_data_retention" if days else "without limit (REPORTING_USER_RETENTION_DAYS)"
    )
    yield Check("retention", True, f"per-user rows kept {kept}")
    lists = settings.reporting_user_lists
    yield Check(
        "per-user lists",
        True,
        "on: the dashboard lists the most engaged and dormant users (REPORTING_USER_LISTS=off keeps aggregates only)"
        if lists == "on"
        else "off: no per-user list in the dashboard; funnel, segments and cohorts only (REPORTING_USER_LISTS)",
    )


def _refusing(url: str, now: datetime) -> dict[str, dict]:
    """Alert channels that have refused every notification for a day or more (`alert_channels`)."""
    from sqlalchemy import create_engine

    from reporting_assets.alerts import deliveries
    from reporting_assets.alerts.delivery import REPORT_AFTER

    engine = create_engine(url)
    try:
        failing = deliveries.failing_channels(engine)
    except Exception:  # a warehouse not migrated yet has no such table: nothing refused
        return {}
    finally:
        engine.dispose()
    return {key: streak for key, streak in failing.items() if now - streak.failing_since >= REPORT_AFTER}


def _channels(settings: Any, send: bool, now: datetime) -> Iterator[Check]:
    from reporting_assets.alerts.notify import Notifier, NotifierConfigError

    refusing = _refusing(settings.database_url, now)
    for variable, secret in (
        ("REPORTING_ALERT_URLS", settings.reporting_alert_urls),
        ("REPORTING_DIGEST_URLS", settings.reporting_digest_urls),
    ):
        if not secret:
            continue
        try:
            channels = Notifier(urls=secret.get_secret_value(), variable=variable).channels()
        except NotifierConfigError as exc:
            yield Check(variable, False, str(exc))
            continue
        for channel in channels:
            [masked] = channel.targets()
            if streak := refusing.get(channel.key):
                yield Check(
                    variable, False, f"{masked} has refused every alert since {streak.failing_since:%Y-%m-%d %H:%M} "
                    f"UTC ({streak.failures} tries): check the URL and the service",
                )  # fmt: skip
            elif not send:
                yield Check(variable, True, f"{masked} is a valid apprise URL (--test-notification sends to it)")
            elif channel.send("[TEST] paradigm-reporting doctor", "A test message: this channel works.", "info"):
                yield Check(variable, True, f"test message accepted by {masked}")
            else:
                yield Check(variable, False, f"test message refused by {masked}: check the URL and the service")


def checks(
    *,
    day: date | None = None,
    samples: Path | None = None,
    test_notification: bool = False,
    now: Clock = utc_now,
) -> list[Check]:
    """Every check, in order; after invalid settings nothing else can be checked."""
    from reporting_assets.alerts.rules import load_rules
    from reporting_assets.settings import Settings, SettingsError

    try:
        settings = Settings.load()
    except SettingsError as exc:
        return [Check("settings", False, str(exc))]
    out = [Check("settings", True, "every variable valid" + (" (demo API)" if settings.demo else ""))]
    try:
        rules = load_rules(settings.reporting_alert_rules)
        out.append(Check("alert rules", True, f"{len(rules.rules)} rules in {settings.reporting_alert_rules}"))
    except ValueError as exc:
        out.append(Check("alert rules", False, str(exc)))
    if not settings.paradigm_base_url.strip():
        out.append(Check("API", False, "PARADIGM_BASE_URL is not set (your instance's root URL, or `demo`)"))
    else:
        out += _endpoints(settings, day or now().date() - timedelta(days=1), samples)
    out += _warehouse(settings.database_url)
    out += _bi_contract(settings.database_url, settings.reporting_user_lists == "on")
    out += _reports(settings)
    out += _privacy(settings)
    out += _channels(settings, test_notification, now())
    redact = settings.redactor()  # errors of the API, the warehouse or a store may quote what they were given
    return [Check(c.name, c.ok, redact(c.detail)) for c in out]
