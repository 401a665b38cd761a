"""The org file (REPORTING_ORG_DATA): a CSV of `user_id`, optional `company_id` and `valid_from`, and one column
per attribute (department, site, directorate...). UTF-8 with or without BOM, `,` or `;`, a header row.

`parse` validates every row at once (vectorised) and returns the memberships, one row per user, day it holds from
and attribute, with every bad row reported by line, column and why: never dropped silently, never quoting a user
id. A file that cannot be read, or without a `user_id` column, raises `OrgFileError` naming the file."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from reporting_assets.lazy import pandas as pd
from reporting_assets.neutralise import plain
from reporting_assets.warehouse.tables import OTHER, UNASSIGNED

USER, COMPANY, FROM = "user_id", "company_id", "valid_from"
KEYS = (USER, COMPANY, FROM)


class OrgFileError(ValueError):
    """The org file cannot be used at all: the message names the file and why."""


@dataclass(frozen=True)
class BadRow:
    line: int  # the file's line (the header is line 1)
    column: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.why}"


@dataclass(frozen=True)
class OrgFile:
    content_hash: str  # SHA-256 of the bytes: the asset's data version
    memberships: pd.DataFrame  # company_id, user_id (as in the file), valid_from (NaT: since always), attribute,
    # group_name
    attributes: list[str]
    dated: bool  # some row has a valid_from
    bad: list[BadRow]
    rows: int  # data rows in the file


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrgFileError(f"{where}: not UTF-8 (byte {exc.start} cannot be read): save it as UTF-8") from None


def _frame(text: str, where: str) -> tuple[pd.DataFrame, pd.Series]:
    header = text.split("\n", 1)[0]
    sep = ";" if header.count(";") > header.count(",") else ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, lineterminator="\n")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise OrgFileError(f"{where}: not a CSV file with a header row ({str(exc).strip().splitlines()[0]})") from None
    names = [str(c).strip() for c in frame.columns]
    keys = [n.lower() if n.lower() in KEYS else n for n in names]
    if len(set(keys)) != len(keys):
        raise OrgFileError(f"{where}: a column appears twice in the header")
    frame.columns = keys
    if USER not in keys:
        raise OrgFileError(f"{where}: no {USER} column (the header has: {plain(', '.join(names))})")
    if not [k for k in keys if k not in KEYS]:
        raise OrgFileError(f"{where}: no attribute column (department, site...) besides {', '.join(KEYS)}")
    # each row's line in the file: a quoted cell may hold line breaks
    breaks = frame.apply(lambda column: column.str.count("\n")).sum(axis=1)
    line = pd.Series(frame.index + 2, index=frame.index) + breaks.cumsum().shift(fill_value=0)
    return frame.apply(lambda column: column.str.strip()), line


def _integers(values: pd.Series) -> pd.Series:
    """Positive integers; NaN where a value is not one."""
    number = pd.to_numeric(values.where(values.str.fullmatch(r"\d{1,18}")), errors="coerce")
    return number.where(number > 0)


def parse(data: bytes, where: str, companies: set[int], single: int | None) -> OrgFile:
    """The org file's memberships and bad rows. `companies`: the companies a row may name (empty: nothing loaded
    yet, any is taken); `single`: the one company rows without a company_id belong to (None: they need one)."""
    frame, line = _frame(_text(data, where), where)
    why = pd.Series(pd.NA, index=frame.index, dtype="string")
    column = pd.Series(pd.NA, index=frame.index, dtype="string")

    def flag(bad: pd.Series, name: str, reason: str) -> None:
        new = bad & why.isna()
        why[new], column[new] = reason, name

    if COMPANY not in frame and single is None:
        raise OrgFileError(f"{where}: no {COMPANY} column, and the token sees several companies: add one")
    user = _integers(frame[USER])
    flag(frame[USER] == "", USER, "empty: every row needs the user's Paradigm id")
    flag(user.isna(), USER, "not a Paradigm user id (a positive integer)")
    given = frame[COMPANY] if COMPANY in frame else pd.Series("", index=frame.index)
    company = _integers(given)
    if single is not None:
        company = company.where(given != "", single)
    flag((given == "") & (single is None), COMPANY, "empty, and the token sees several companies: say which")
    flag(company.isna(), COMPANY, "not a Paradigm company id (a positive integer)")
    if companies:
        flag(~company.isin(companies), COMPANY, "unknown company: not in the warehouse")
    dated = frame[FROM] if FROM in frame else pd.Series("", index=frame.index)
    valid_from = pd.to_datetime(dated.where(dated != ""), format="%Y-%m-%d", errors="coerce")
    flag((dated != "") & valid_from.isna(), FROM, "not a date YYYY-MM-DD")
    attributes = [c for c in frame.columns if c not in KEYS]
    for name in attributes:
        flag(frame[name].isin([UNASSIGNED, OTHER]), name, "a reserved group name")
    key = pd.DataFrame({"c": company, "u": user, "f": dated})[why.isna()]
    twice = key.duplicated(keep="first").reindex(frame.index, fill_value=False)
    first = key.reset_index().groupby(["c", "u", "f"])["index"].transform("min").set_axis(key.index)
    why[twice] = "the same user and day as line " + (first.reindex(frame.index)[twice] + 2).astype(int).astype(str)
    column[twice] = USER
    good = why.isna()
    wide = pd.DataFrame({COMPANY: company, USER: user, FROM: valid_from})[good]
    wide = wide.astype({COMPANY: "int64", USER: "int64"})
    long = wide.join(frame.loc[good, attributes]).melt(
        id_vars=[COMPANY, USER, FROM], var_name="attribute", value_name="group_name"
    )
    bad = [BadRow(int(n), str(c), str(w)) for n, c, w in zip(line[~good], column[~good], why[~good], strict=True)]
    return OrgFile(
        content_hash(data),
        long[long["group_name"] != ""].reset_index(drop=True),
        attributes,
        bool(valid_from[good].notna().any()),
        bad,
        len(frame),
    )
