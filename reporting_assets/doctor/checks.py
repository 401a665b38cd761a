"""The doctor's checks, each a `Check` (name, ok, detail) whose `line` the command and the job print."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from reporting_assets.clock import Clock, utc_now
from reporting_assets.custom_kpis import definition as kpi_file
from reporting_assets.i18n import ENGLISH, N_, Language
from reporting_assets.neutralise import plain
from reporting_assets.warehouse import engines

DETAIL_LENGTH = 1000  # characters of one check's detail
OPTIONAL_PREFIXES = ("agent_",)  # columns the API returns only in some modes: absent is not a fault
REDACTED_KEYS = ("name", "title", "filename", "email")


# The checks' names, as the reader reads them (`Check.line`); an endpoint's path or a variable's name stays as it is
NAMES = (
    N_("settings"), N_("alert rules"), N_("API"), N_("warehouse"), N_("loads"), N_("BI contract"), N_("reports"),
    N_("pseudonymisation"), N_("retention"), N_("per-user lists"), N_("custom KPIs"), N_("org data"),
)  # fmt: skip


@dataclass(frozen=True)
class Check:
    name: str  # one of `NAMES`, an endpoint's path or a variable's name: what tests and scripts look for
    ok: bool
    detail: str  # in the reader's language

    def line(self, lang: Language) -> str:
        """One line in `lang`: the detail may quote API text or an error (`plain`); secrets are masked by `checks`."""
        name = lang.gettext(self.name) if self.name in NAMES else self.name
        return f"{'✓' if self.ok else '✗'} {name}: {plain(self.detail, DETAIL_LENGTH)}"


def language() -> Language:
    """`REPORTING_LANGUAGE`'s, or English when the settings are invalid (the first line says why)."""
    from reporting_assets.settings import Settings, SettingsError

    try:
        return Language(Settings.load().reporting_language)
    except SettingsError:
        return ENGLISH


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


def _endpoints(settings: Any, day: date, samples: Path | None, lang: Language) -> Iterator[Check]:
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
                where = lang.gettext("the demo simulator") if settings.demo else settings.paradigm_base_url
                answered = lang.gettext("{where} answered, token accepted ({seconds} s)")
                yield Check("API", True, answered.format(where=where, seconds=lang.number(took, 2)))
            if samples:
                samples.mkdir(parents=True, exist_ok=True)
                (samples / f"{endpoint.slug}.json").write_text(json.dumps(redact(payload), indent=2) + "\n")
            try:
                rows = flatten(endpoint, payload, [day], paradigm.user_id_key or None)  # no raw id in a message
            except PayloadError as exc:
                unexpected = lang.gettext("unexpected payload for {day}: {error}")
                yield Check(endpoint.path, False, unexpected.format(day=day, error=exc))
                continue
            frame = rows.frame
            absent = [
                c for c in frame.columns if frame[c].isna().all() and not c.startswith(OPTIONAL_PREFIXES)
            ] if len(frame) else []  # fmt: skip
            unknown = lang.gettext("; unknown fields (ignored): {fields}").format(fields=", ".join(rows.drift))
            drift = unknown if rows.drift else ""
            if absent:
                missing = lang.gettext("fields missing from every row for {day}: {fields}")
                yield Check(endpoint.path, False, missing.format(day=day, fields=", ".join(absent)))
            else:
                good = lang.gettext("HTTP 200 in {seconds} s, {rows} rows for {day}")
                shown = good.format(seconds=lang.number(took, 2), rows=lang.number(len(frame)), day=day)
                yield Check(endpoint.path, True, shown + drift)


def _warehouse(url: str, lang: Language) -> Iterator[Check]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from reporting_assets.warehouse import migrate

    shown = make_url(url).render_as_string(hide_password=True)
    engine = engines.create(url)
    try:
        with engine.connect() as conn:
            revision, head = migrate.current(conn), migrate.head()
        with engine.begin() as conn:  # writable: a table created and dropped (SQLite DDL is not transactional)
            for statement in ("DROP TABLE IF EXISTS doctor_probe", "CREATE TABLE doctor_probe (x INTEGER)"):
                conn.execute(text(statement))
            conn.execute(text("DROP TABLE doctor_probe"))
    except Exception as exc:
        yield Check("warehouse", False, f"{shown}: {engines.reduced(exc)}")
        return
    finally:
        engine.dispose()
    if revision == head:
        state = lang.gettext("schema at {revision} (latest)").format(revision=head)
    elif revision is None:
        state = lang.gettext("new or from before migrations: brought to the latest schema on first use")
    else:
        state = lang.gettext("schema at {revision}, latest {head}: upgraded on first use")
        state = state.format(revision=revision, head=head)
    reachable = lang.gettext("{url} reachable and writable, {state}")
    yield Check("warehouse", True, reachable.format(url=shown, state=state))
    last = _last_loaded(url) if revision is not None else None
    if last is None:  # a setup state, not an incident: nobody is paged for it either
        yield Check("loads", True, lang.gettext("nothing loaded yet: run a backfill or wait for daily_refresh"))
    else:
        yield Check("loads", True, lang.gettext("last day loaded: {day}").format(day=last))


def _last_loaded(url: str) -> date | None:
    from sqlalchemy import func, select

    from reporting_assets.warehouse.tables import load_log

    engine = engines.create(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.max(load_log.c.date))).scalar_one()
    finally:
        engine.dispose()


def _bi_contract(url: str, user_lists: bool, lang: Language) -> Iterator[Check]:
    """Whether the BI contract's views are there and current, and who may read them (PostgreSQL)."""
    from reporting_assets.bi import access, views

    engine = engines.create(url)
    try:
        with engine.connect() as conn:
            state = views.status(conn, user_lists)
            readers = access.readers(conn) if views.schema_of(conn) and not state.missing else []
    except Exception as exc:  # the warehouse check has said why it cannot be reached
        yield Check("BI contract", False, lang.gettext("cannot be read: {error}").format(error=engines.reduced(exc)))
        return
    finally:
        engine.dispose()
    if len(state.missing) == len(views.expected(user_lists)):  # a setup state: the asset publishes it when missing
        unpublished = lang.gettext("not published yet: materialize bi_contract (automatic once the daemon runs)")
        yield Check("BI contract", True, unpublished)
        return
    who = lang.gettext("; readers: {readers}").format(readers=", ".join(map(str, readers))) if readers else ""
    # a reader row security cannot hold sees every company: never a pass
    yield Check("BI contract", state.current and not any(r.bypass for r in readers), state.summary(lang) + who)


def _reports(settings: Any, lang: Language) -> Iterator[Check]:
    """Whether the dashboard can be written where `REPORTING_REPORTS_DIR` says."""
    from reporting_assets.reports import store

    where = store.shown(settings.reports_dir)
    try:
        store.check(settings.reports_dir)
    except Exception as exc:  # any store's error: named, one line, no credentials (they are not in the URL we show)
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        yield Check("reports", False, lang.gettext("cannot write to {where}: {error}").format(where=where, error=error))
        return
    yield Check("reports", True, lang.gettext("{where} is writable").format(where=where))


def _pseudonymisation(settings: Any, lang: Language) -> Check:
    """Whether user ids are pseudonymised, and whether the stored ones were made with this key; a ✗ naming the
    error when the warehouse cannot tell (never "off")."""
    from sqlalchemy import inspect

    from reporting_assets.users import pseudonyms
    from reporting_assets.warehouse.tables import pseudonymisation

    key = settings.reporting_user_id_key.get_secret_value() if settings.reporting_user_id_key else None
    engine = engines.create(settings.database_url)
    try:
        with engine.connect() as conn:  # a warehouse not migrated yet holds no pseudonym
            stored = pseudonyms.stored_since(conn) if inspect(conn).has_table(pseudonymisation.name) else None
    except Exception as exc:
        unknown = lang.gettext("could not tell whether stored user ids are pseudonyms: {error}")
        return Check("pseudonymisation", False, unknown.format(error=engines.reduced(exc)))
    finally:
        engine.dispose()
    if stored and not key:
        problem = lang.gettext(
            "stored user ids are pseudonyms (since {day}) but REPORTING_USER_ID_KEY is unset: set it back, or run "
            "`{reset}`"
        )
        return Check("pseudonymisation", False, problem.format(day=f"{stored[1]:%Y-%m-%d}", reset=pseudonyms.RESET))
    if stored and stored[0] != pseudonyms.key_check(key or ""):
        problem = lang.gettext(
            "stored user ids are pseudonyms (since {day}) but REPORTING_USER_ID_KEY is not the key they were "
            "made with: set it back, or run `{reset}`"
        )
        return Check("pseudonymisation", False, problem.format(day=f"{stored[1]:%Y-%m-%d}", reset=pseudonyms.RESET))
    if not key:
        return Check(
            "pseudonymisation", True, lang.gettext("off: user ids stored as the API gives them (REPORTING_USER_ID_KEY)")
        )
    state = (
        lang.gettext("stored ids made with this key since {day}").format(day=f"{stored[1]:%Y-%m-%d}")
        if stored
        else lang.gettext("raw ids stored before are converted at the next user_activities load")
    )
    return Check("pseudonymisation", True, lang.gettext("on (REPORTING_USER_ID_KEY): {state}").format(state=state))


def _privacy(settings: Any, lang: Language) -> Iterator[Check]:
    """Pseudonymisation, the retention and the per-user lists."""
    yield _pseudonymisation(settings, lang)
    days = settings.reporting_user_retention_days
    kept = (
        lang.ngettext(
            "per-user rows kept {days} day, then deleted by user_data_retention",
            "per-user rows kept {days} days, then deleted by user_data_retention",
            days,
        ).format(days=days)
        if days
        else lang.gettext("per-user rows kept without limit (REPORTING_USER_RETENTION_DAYS)")
    )
    yield Check("retention", True, kept)
    lists = settings.reporting_user_lists
    yield Check(
        "per-user lists",
        True,
        lang.gettext(
            "on: the dashboard lists the most engaged and dormant users (REPORTING_USER_LISTS=off keeps aggregates "
            "only)"
        )
        if lists == "on"
        else lang.gettext(
            "off: no per-user list in the dashboard; funnel, segments and cohorts only (REPORTING_USER_LISTS)"
        ),
    )


def _refusing(url: str, now: datetime) -> tuple[dict[str, Any], str | None]:
    """Alert channels that have refused every notification for a day or more (`alert_channels`), and the error
    that kept the warehouse from telling (None: it could tell)."""
    from sqlalchemy import inspect

    from reporting_assets.alerts import deliveries
    from reporting_assets.alerts.delivery import REPORT_AFTER
    from reporting_assets.warehouse.tables import alert_channels

    engine = engines.create(url)
    try:
        with engine.connect() as conn:  # a warehouse not migrated yet has no such table: nothing refused
            if not inspect(conn).has_table(alert_channels.name):
                return {}, None
        failing = deliveries.failing_channels(engine)
    except Exception as exc:
        return {}, engines.reduced(exc)
    finally:
        engine.dispose()
    return {key: streak for key, streak in failing.items() if now - streak.failing_since >= REPORT_AFTER}, None


def _channels(settings: Any, send: bool, now: datetime, lang: Language) -> Iterator[Check]:
    from reporting_assets.alerts.notify import Notifier, NotifierConfigError

    refusing, unread = _refusing(settings.database_url, now)
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
        if unread:  # not "no channel refuses": whether one does is unknown
            unknown = lang.gettext("could not tell whether a channel refuses notifications: {error}")
            yield Check(variable, False, unknown.format(error=unread))
        for channel in channels:
            [masked] = channel.targets()
            if streak := refusing.get(channel.key):
                refused = lang.ngettext(
                    "{channel} has refused every alert since {since} UTC ({tries} try): check the URL and the service",
                    "{channel} has refused every alert since {since} UTC ({tries} tries): check the URL and the "
                    "service",
                    streak.failures,
                )
                since = f"{streak.failing_since:%Y-%m-%d %H:%M}"
                yield Check(variable, False, refused.format(channel=masked, since=since, tries=streak.failures))
            elif not send:
                valid = lang.gettext("{channel} is a valid apprise URL (--test-notification sends to it)")
                yield Check(variable, True, valid.format(channel=masked))
            else:
                yield _test_notification(variable, channel, masked, lang)


def _custom_kpis(settings: Any, lang: Language) -> Check:
    """The KPIs of REPORTING_KPIS (the settings have validated the file: a mistake is the first line's)."""
    from reporting_assets.custom_kpis.definition import load

    if settings.reporting_kpis is None:
        return Check("custom KPIs", True, lang.gettext("none (REPORTING_KPIS is unset)"))
    file = load(settings.reporting_kpis)
    listed = lang.ngettext("{count} in {path}: {names}", "{count} in {path}: {names}", len(file.kpis))
    return Check(
        "custom KPIs", True, listed.format(count=len(file.kpis), path=file.path, names=", ".join(file.names()))
    )


def _org_data(settings: Any, lang: Language) -> Check:
    """The org file of REPORTING_ORG_DATA, read and validated as `org_data` would: its rows, attributes, bad rows."""
    from reporting_assets.org.defs import read_file
    from reporting_assets.org.file import OrgFileError
    from reporting_assets.warehouse.store import Warehouse

    if not settings.reporting_org_data:
        return Check("org data", True, lang.gettext("none (REPORTING_ORG_DATA is unset)"))
    try:
        parsed = read_file(
            settings.reporting_org_data, Warehouse(url=settings.database_url), settings.paradigm_company_id
        )
    except OrgFileError as exc:
        return Check("org data", False, str(exc))
    found = lang.gettext("{rows} rows, attributes: {attributes}; {bad} bad rows (their lines: asset check no_bad_rows)")
    rows, bad = lang.number(parsed.rows), lang.number(len(parsed.bad))
    return Check("org data", not parsed.bad, found.format(rows=rows, attributes=", ".join(parsed.attributes), bad=bad))


def _test_notification(variable: str, channel: Any, masked: str, lang: Language) -> Check:
    """Send the test message to one channel: accepted, refused, or a ✗ naming the error that stopped it."""
    title = "[TEST] " + lang.gettext("paradigm-reporting doctor: test notification")  # the tag stays, for filters
    try:
        accepted = channel.send(title, lang.gettext("A test message: this channel works."), "info")
    except Exception as exc:  # apprise's plugins may raise: not a refusal, and not a pass
        failed = lang.gettext("test message to {channel} failed: {error}")
        return Check(variable, False, failed.format(channel=masked, error=type(exc).__name__))
    if accepted:
        return Check(variable, True, lang.gettext("test message accepted by {channel}").format(channel=masked))
    refused = lang.gettext("test message refused by {channel}: check the URL and the service")
    return Check(variable, False, refused.format(channel=masked))


def checks(
    *,
    day: date | None = None,
    samples: Path | None = None,
    test_notification: bool = False,
    now: Clock = utc_now,
) -> list[Check]:
    """Every check, in order; after invalid settings nothing else can be checked."""
    from reporting_assets.alerts.rules import check_org_data, load_rules
    from reporting_assets.settings import Settings, SettingsError

    try:
        settings = Settings.load()
    except SettingsError as exc:
        return [Check("settings", False, str(exc))]
    lang = Language(settings.reporting_language)  # the doctor's lines in the reader's language
    valid = lang.gettext("every variable valid (demo API)") if settings.demo else lang.gettext("every variable valid")
    out = [Check("settings", True, valid)]
    try:
        path = settings.reporting_alert_rules
        rules = check_org_data(
            load_rules(path, kpi_file.of(settings.reporting_kpis)), path, settings.reporting_org_data
        )
        counted = lang.ngettext("{count} rule in {path}", "{count} rules in {path}", len(rules.rules)).format(
            count=len(rules.rules), path=settings.reporting_alert_rules
        )
        out.append(Check("alert rules", True, counted))
    except ValueError as exc:
        out.append(Check("alert rules", False, str(exc)))
    out.append(_custom_kpis(settings, lang))
    if not settings.paradigm_base_url.strip():
        unset = lang.gettext("PARADIGM_BASE_URL is not set (your instance's root URL, or `demo`)")
        out.append(Check("API", False, unset))
    else:
        out += _endpoints(settings, day or now().date() - timedelta(days=1), samples, lang)
    out += _warehouse(settings.database_url, lang)
    out.append(_org_data(settings, lang))
    out += _bi_contract(settings.database_url, settings.reporting_user_lists == "on", lang)
    out += _reports(settings, lang)
    out += _privacy(settings, lang)
    out += _channels(settings, test_notification, now(), lang)
    redact = settings.redactor()  # errors of the API, the warehouse or a store may quote what they were given
    return [Check(c.name, c.ok, redact(c.detail)) for c in out]
