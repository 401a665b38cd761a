"""The reader's language (`REPORTING_LANGUAGE`: en, fr or de): our messages through gettext catalogs
(`locales/<language>/LC_MESSAGES/messages.po`, read with Babel), numbers, percentages and dates in the locale's
forms ("1 855", "85,8 %", "22 nov. 2026"), and the list separator a spreadsheet of that locale expects.

English is the source language: a message is its own English text. API text (company, tool and document names) and
rule names are data: they are never translated. Babel is imported on first use: importing this module costs nothing.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "fr", "de")
LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
CSV_SEPARATORS = {"en": ",", "fr": ";", "de": ";"}  # Excel's list separator in each locale


def catalog_path(code: str) -> Path:
    return LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "a message, translated where it is shown")
    """Marks a message held in data (a label in a table) for the catalogs; `Language.gettext` translates it."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 (as `N_`, for a message with a count)
    """Marks a message with a count held in data (what dashboard.js writes): `Language.plural_forms` translates it."""
    return singular, plural


@cache
def _translations(code: str) -> gettext.NullTranslations:
    """The catalog of `code`, compiled in memory from its .po file (no compiled .mo to keep in step)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if code == "en":
        return gettext.NullTranslations()
    with catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def _percent_pattern(code: str) -> str:
    """The locale's percent pattern: "#,##0%" (en), "#,##0 %" (fr, de)."""
    from babel import Locale

    return Locale.parse(code).percent_formats[None].pattern


@dataclass(frozen=True)
class Language:
    """What a reader of `code` reads: our messages translated, numbers and dates in the locale's forms."""

    code: str = "en"

    def __post_init__(self) -> None:
        if self.code not in LANGUAGES:
            raise ValueError(f"language {self.code!r} is not one of {', '.join(LANGUAGES)}")

    def gettext(self, message: str) -> str:
        return _translations(self.code).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of a message with a count `n`, by the catalog's plural rule ("1 jour", "2 jours"; French
        counts 0 as one)."""
        return _translations(self.code).ngettext(singular, plural, n)

    def plural_forms(self, singular: str, plural: str) -> list[str]:
        """The message's two forms, [one, other], for a script that picks one with `Intl.PluralRules` (whose "one"
        is gettext's singular in en, fr and de)."""
        return [self.ngettext(singular, plural, 1), self.ngettext(singular, plural, 2)]

    def number(self, value: float, digits: int = 0) -> str:
        """1855 -> "1,855" (en), "1 855" (fr), "1.855" (de)."""
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(round(value, digits) or 0, pattern, locale=self.code)  # never "-0"

    def figure(self, value: float) -> str:
        """A measured value, to 4 significant digits: 0.6 -> "0.6" (en), "0,6" (fr, de); 1234.5 -> "1,234" (en)."""
        from babel.numbers import format_decimal

        return format_decimal(float(f"{value:.4g}"), locale=self.code, decimal_quantization=False)

    def percent(self, fraction: float) -> str:
        """0.858 -> "85.8%" (en), "85,8 %" (fr, de)."""
        from babel.numbers import format_percent

        return format_percent(fraction, _percent_pattern(self.code).replace("0", "0.0", 1), locale=self.code)

    def change(self, fraction: float) -> str:
        """A relative change: 0.25 -> "+25%" (en), "+25 %" (fr, de); never "-0%"."""
        from babel.numbers import format_percent

        pattern = _percent_pattern(self.code)
        return format_percent(round(fraction, 2) or 0.0, f"+{pattern};-{pattern}", locale=self.code)

    def signed(self, value: float, digits: int = 0) -> str:
        """A change: "+12", "-3.5" ("+3,5" in fr and de); 0 shows "+0"."""
        shown = self.number(abs(value), digits)
        return ("-" if round(value, digits) < 0 else "+") + shown

    def date(self, day: date) -> str:
        """2026-11-22 -> "Nov 22, 2026" (en), "22 nov. 2026" (fr), "22.11.2026" (de)."""
        from babel.dates import format_date

        return format_date(day, "medium", locale=self.code)

    @property
    def csv_separator(self) -> str:
        return CSV_SEPARATORS[self.code]

    def vega_locale(self) -> dict[str, dict]:
        """The locale of the charts' numbers and dates (d3-format's and d3-time-format's definitions, which
        vega-embed's `formatLocale` and `timeFormatLocale` take), from Babel's CLDR data."""
        from babel import Locale
        from babel.numbers import get_group_symbol

        locale = Locale.parse(self.code)
        days, short_days = (locale.days["format"][width] for width in ("wide", "abbreviated"))
        months, short_months = (locale.months["format"][width] for width in ("wide", "abbreviated"))
        sunday_first = [6, 0, 1, 2, 3, 4, 5]  # CLDR counts from Monday, d3 from Sunday
        percent = _percent_pattern(self.code).removeprefix("#,##0")  # "%", or a space and "%"
        return {
            "number": {"decimal": self.decimal_symbol, "thousands": get_group_symbol(self.code), "grouping": [3],
                       "currency": ["", ""], "percent": percent},
            "time": {"dateTime": "%x %X", "date": "%Y-%m-%d", "time": "%H:%M:%S", "periods": ["AM", "PM"],
                     "days": [days[d] for d in sunday_first], "shortDays": [short_days[d] for d in sunday_first],
                     "months": [months[m] for m in range(1, 13)],
                     "shortMonths": [short_months[m] for m in range(1, 13)]},
        }  # fmt: skip

    @property
    def decimal_symbol(self) -> str:
        from babel.numbers import get_decimal_symbol

        return get_decimal_symbol(self.code)


ENGLISH = Language()
