"""REPORTING_LANGUAGE (en, fr, de): every message of the source has its translation in each catalog, with the same
placeholders; numbers, percentages and dates in the locale's forms; the digest and alert messages in French and
German, with no English message left; the setting is validated and reaches the definitions."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from reporting_assets.alerts.episode import Episode
from reporting_assets.alerts.evaluate import describe
from reporting_assets.alerts.rules import Rule
from reporting_assets.i18n import ENGLISH, LANGUAGES, Language, catalog_path
from reporting_assets.reports.digest import CompanyWeek, DigestModel, text
from reporting_assets.settings import Settings, SettingsError
from reporting_assets.warehouse.store import Warehouse
from reporting_assets_tests.messages import PACKAGE, english_left, plurals, source
from reporting_assets_tests.receiver import Receiver

SOURCE = source()
PLURALS = plurals()


def _fields(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def test_the_source_has_messages_to_translate() -> None:
    assert {"All companies", "Paradigm usage, week {week}", "no {metric} since {since}", "Trends"} <= SOURCE


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
def test_every_message_has_a_translation_with_the_same_placeholders(code: str) -> None:
    with catalog_path(code).open("rb") as po:
        catalog = {m.id: m.string for m in read_po(po) if m.id and isinstance(m.id, str)}  # plurals: below
    missing = sorted(SOURCE - catalog.keys())
    assert not missing, f"{code}: no translation of {missing}"
    assert not sorted(catalog.keys() - SOURCE), f"{code}: messages the source no longer has"
    empty = sorted(m for m in SOURCE if not catalog[m].strip())
    assert not empty, f"{code}: empty translations of {empty}"
    different = sorted(m for m in SOURCE if _fields(catalog[m]) != _fields(m))
    assert not different, f"{code}: placeholders differ in {different}"


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
def test_every_message_with_a_count_has_each_plural_form_by_the_catalog_s_rule(code: str) -> None:
    with catalog_path(code).open("rb") as po:
        catalog = read_po(po)
    assert catalog.num_plurals == 2 and catalog.plural_expr == {"fr": "(n > 1)", "de": "(n != 1)"}[code]
    assert [m.id for m in catalog if m.id and m.fuzzy] == []  # a fuzzy translation is never shown
    forms = {m.id: m.string for m in catalog if m.id and isinstance(m.id, tuple)}
    assert PLURALS and sorted(PLURALS - forms.keys()) == [], f"{code}: no plural forms of {PLURALS - forms.keys()}"
    for (singular, plural), (one, other) in ((p, forms[p]) for p in PLURALS):
        assert one.strip() and other.strip(), (code, singular)
        assert _fields(one) == _fields(singular) and _fields(other) == _fields(plural), (code, singular)
    lang = Language(code)  # French counts 0 as one, German as many
    pair = ("({count} day not loaded)", "({count} days not loaded)")
    assert [lang.ngettext(*pair, n) for n in (0, 1, 2)] == {"fr": [forms[pair][0], *forms[pair]],
                                                            "de": [forms[pair][1], *forms[pair]]}[code]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "number", "percent", "change", "day", "separator"),
    [
        ("en", "1,855", "85.8%", "+25%", "Nov 22, 2026", ","),
        ("fr", "1\u202f855", "85,8\u00a0%", "+25\u00a0%", "22 nov. 2026", ";"),
        ("de", "1.855", "85,8\u00a0%", "+25\u00a0%", "22.11.2026", ";"),
    ],
)
def test_numbers_percentages_and_dates_take_the_locales_forms(code, number, percent, change, day, separator) -> None:
    lang = Language(code)
    assert lang.number(1855) == number and lang.percent(0.858) == percent and lang.change(0.25) == change
    assert lang.date(date(2026, 11, 22)) == day and lang.csv_separator == separator
    assert lang.change(-0.001) == lang.change(0.0)  # never "-0%"


def _week(company_id: int, sessions: float, before: float, firing: int = 0) -> CompanyWeek:
    now = {
        "sessions_count": sessions,
        "user_queries_count": 2 * sessions,
        "satisfaction_rate": 0.858,
        "active_users": 1855.0,
        "adoption_rate": None,
    }
    then = {**now, "sessions_count": before, "satisfaction_rate": 0.8}
    return CompanyWeek(company_id, f"Co {company_id}", now, then, "Recherche", None, 1, 0, firing)  # fmt: skip


MISSING = (date(2025, 1, 25),)


FRENCH = [
    "Semaine 2025-W04 (du 20 janv. 2025 au 26 janv. 2025) par rapport à 2025-W03.",
    "Non chargés : 25 janv. 2025. Les chiffres couvrent 6 jours sur 7",
    "Toutes les entreprises",
    "- sessions : 1\u202f200 (+20\u00a0%)",
    "- taux de satisfaction : 85,8\u00a0% (+5,8 pts)",
    "- utilisateurs actifs : 1\u202f855 (+0\u00a0%)",
    "- taux d'adoption : n.d.",
    "- outil le plus utilisé : Recherche ; document le plus utilisé : aucun",
]
GERMAN = [
    "Woche 2025-W04 (20.01.2025 bis 26.01.2025) gegenüber 2025-W03.",
    "Nicht geladen: 25.01.2025. Die Zahlen umfassen 6 von 7 Tagen",
    "Alle Unternehmen",
    "- Sitzungen: 1.200 (+20\u00a0%)",
    "- Zufriedenheitsrate: 85,8\u00a0% (+5,8 Pkt.)",
    "- aktive Nutzer: 1.855 (+0\u00a0%)",
    "- Nutzungsrate: k. A.",
    "- meistgenutztes Tool: Recherche; meistgenutztes Dokument: keines",
]


@pytest.mark.parametrize(
    ("code", "title", "lines"),
    [
        ("fr", "Utilisation de Paradigm, semaine 2025-W04 (1 jour non chargé)", FRENCH),
        ("de", "Paradigm-Nutzung, Woche 2025-W04 (1 Tag nicht geladen)", GERMAN),
    ],
)
def test_the_digest_reads_in_french_and_german(code: str, title: str, lines: list[str]) -> None:
    total = _week(0, 1200, 1000)
    model = DigestModel("2025-W04", "2025-W03", date(2025, 1, 20), MISSING, total, (_week(1, 1200, 1000),), None)
    digest = text(model, Language(code))
    assert digest.title == title
    for line in lines:
        assert line in digest.body, (line, digest.body)
    assert not english_left(digest.title + digest.body, code), digest.body
    # a larger instance's digest: movers and open alerts, in the same language
    many = tuple(_week(i, 100 + i, 100, firing=int(i == 4)) for i in range(1, 13))
    large = text(
        DigestModel("2025-W04", "2025-W03", date(2025, 1, 20), (), total, many, "https://x.example/d"), Language(code)
    )
    assert not english_left(large.title + large.body, code), large.body
    assert text(model, ENGLISH) != digest and "Sessions" not in text(model, ENGLISH).body


RULE = Rule(name="low_satisfaction", asset="adoption_satisfaction", metric="satisfaction_rate", condition="below",
            threshold=0.6)  # fmt: skip
DROP = Rule(name="sessions_drop", asset="adoption_satisfaction", metric="sessions_count", condition="drop_vs_mean",
            threshold=0.5, baseline_days=14)  # fmt: skip


def _episode(status: str, value: float) -> Episode:
    return Episode(
        fingerprint="low_satisfaction/7", started_at=date(2026, 3, 4), rule_name="low_satisfaction",
        severity="warning", asset="adoption_satisfaction", company_id=7, company_name="Globex",
        date=date(2026, 3, 7), metric="satisfaction_rate", value=value, threshold=0.6, status=status,
        resolved_at=None, message="",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("code", "firing", "resolved", "drop"),
    [
        ("en", "Globex (7): satisfaction_rate = 0.5125 on 2026-03-07, below 0.6 (condition holds since 2026-03-04)",
         "back within the limit (0.6); the alert started on 2026-03-04",
         "more than 50% below its 14-day mean (limit 0.6)"),
        ("fr", "Globex (7) : satisfaction_rate = 0,5125 le 2026-03-07, sous 0,6 "
               "(condition remplie depuis le 2026-03-04)",
         "de nouveau dans la limite (0,6) ; l'alerte a commencé le 2026-03-04",
         "plus de 50\u00a0% sous sa moyenne sur 14 jours (limite 0,6)"),
        ("de", "Globex (7): satisfaction_rate = 0,5125 am 2026-03-07, unter 0,6 (Bedingung erfüllt seit 2026-03-04)",
         "wieder innerhalb des Grenzwerts (0,6); die Warnung begann am 2026-03-04",
         "mehr als 50\u00a0% unter dem 14-Tage-Mittel (Grenzwert 0,6)"),
    ],
)  # fmt: skip
def test_an_alert_message_reads_in_the_readers_language(code: str, firing: str, resolved: str, drop: str) -> None:
    lang = Language(code)
    assert describe(RULE, _episode("firing", 0.5125), lang) == firing
    assert resolved in describe(RULE, _episode("resolved", 0.7), lang)
    assert drop in describe(DROP, _episode("firing", 0.5125), lang)


def test_the_language_setting_is_checked_and_reaches_the_weekly_digest(tmp_path, receiver: Receiver) -> None:
    from dagster import DagsterInstance

    from reporting_assets.alerts.notify import Notifier
    from reporting_assets.reports import defs as report_defs

    with pytest.raises(SettingsError, match="REPORTING_LANGUAGE"):
        Settings.load(paradigm_base_url="demo", reporting_language="es")
    with pytest.raises(ValueError, match="'es' is not one of en, fr, de"):
        Language("es")
    settings = Settings.load(paradigm_base_url="demo", reporting_language="de")
    defs = report_defs.build_defs(settings, now=lambda: datetime(2025, 2, 17, 8, tzinfo=UTC))
    [job] = [j for j in defs.jobs if j.name == "weekly_digest"]
    resources = {
        "warehouse": Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}"),
        "digest_notifier": Notifier(urls=receiver.url),
    }
    receiver.start()
    config = {"ops": {"send_weekly_digest": {"config": {"week": "2025-W07"}}}}
    assert job.execute_in_process(config, instance=DagsterInstance.ephemeral(), resources=resources).success
    [sent] = receiver.messages  # nothing loaded that week: said in German
    assert sent["title"] == "Paradigm-Nutzung, Woche 2025-W07 (7 Tage nicht geladen)"
    assert sent["message"].startswith("Woche 2025-W07 (10.02.2025 bis 16.02.2025) gegenüber 2025-W06.")


def test_no_message_of_the_template_holds_a_percent_sign() -> None:
    """Jinja's newstyle gettext formats every message with `%`: a "%" in a template's message or its translation
    would fail the render (the page's percentages come from the model, never from its text)."""
    template = {m for _, _, m, *_ in extract_from_dir(PACKAGE, [("**.j2", "jinja2")]) if isinstance(m, str)}
    assert "Trends" in template
    for code in (c for c in LANGUAGES if c != "en"):
        with catalog_path(code).open("rb") as po:
            catalog = {m.id: m.string for m in read_po(po) if m.id}
        assert [m for m in template if "%" in m or "%" in catalog[m]] == [], code


def _script_messages(script: str) -> tuple[set[str], set[str], list[str]]:
    """The messages dashboard.js writes: the string literals of each `t(...)` and `tCount(...)` call's first argument
    (both branches of a ternary, not a value it compares), and the calls whose first argument holds no literal (a
    message no test could find)."""
    found: dict[str, set[str]] = {"t": set(), "tCount": set()}
    unreadable = []
    for call in re.finditer(r"(?<![\w.])(?<!function )(t|tCount)\(", script):
        depth, i, literals = 1, call.end(), []
        while depth and i < len(script):
            char = script[i]
            if char in "\"'`":
                end = script.index(char, i + 1)
                if depth == 1 and not re.search(r"[=!]==?\s*$", script[call.end() : i]):  # not a compared value
                    literals.append(script[i + 1 : end])
                i = end
            elif char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            elif char == "," and depth == 1:
                break
            i += 1
        if not literals:
            unreadable.append(script[call.start() : call.start() + 60])
        found[call.group(1)] |= set(literals)
    return found["t"], found["tCount"], unreadable


def test_every_message_dashboard_js_writes_is_in_the_page_model_so_none_is_english_only() -> None:
    from reporting_assets.reports.dashboard import SCRIPT_MESSAGES, SCRIPT_PLURALS

    script = (PACKAGE / "reports" / "dashboard.js").read_text()
    messages, counted, unreadable = _script_messages(script)
    assert messages and counted and unreadable == []
    assert sorted(messages - set(SCRIPT_MESSAGES)) == [], "a message of dashboard.js is not in SCRIPT_MESSAGES"
    assert sorted(counted - {one for one, _ in SCRIPT_PLURALS}) == [], "not in SCRIPT_PLURALS"
    assert re.findall(r"textContent\s*=\s*[\"'`][^\"'`]", script) == []  # no text written around t()
