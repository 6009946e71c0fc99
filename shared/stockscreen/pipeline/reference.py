"""Reference data (constituents, fundamentals) as staged by Fetch, parsed into typed rows.

Pure functions: the quality rules of the fundamentals are in :mod:`quality`
(:func:`quality.check_fundamentals`), the upserts in :mod:`repository`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from stockscreen.market.formats import FUNDAMENTAL_FIELDS

US_STATES = {
    "Alabama",
    "Alaska",
    "Arizona",
    "Arkansas",
    "California",
    "Colorado",
    "Connecticut",
    "Delaware",
    "Florida",
    "Georgia",
    "Hawaii",
    "Idaho",
    "Illinois",
    "Indiana",
    "Iowa",
    "Kansas",
    "Kentucky",
    "Louisiana",
    "Maine",
    "Maryland",
    "Massachusetts",
    "Michigan",
    "Minnesota",
    "Mississippi",
    "Missouri",
    "Montana",
    "Nebraska",
    "Nevada",
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Ohio",
    "Oklahoma",
    "Oregon",
    "Pennsylvania",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "Tennessee",
    "Texas",
    "Utah",
    "Vermont",
    "Virginia",
    "Washington",
    "West Virginia",
    "Wisconsin",
    "Wyoming",
    "District of Columbia",
    "D.C.",
}

#: the numeric columns of a fundamentals row (as the fundamentals table names them): the formats' list
FUNDAMENTALS_NUMERIC = FUNDAMENTAL_FIELDS


class StagedReference(NamedTuple):
    """One staged row of a reference file: its kind, file, line and the row (column -> text)."""

    kind: str
    file: str
    line: int
    row: dict[str, Any]


class Security(NamedTuple):
    """A row of the security master, from the constituents file."""

    symbol: str
    name: str
    sector: str | None
    industry: str | None
    hq: str | None
    state: str | None
    country: str | None
    added: dt.date | None
    cik: str | None


@dataclass
class Fundamentals:
    """A fundamentals row: the symbol, the date it is as of, and its numbers (None when missing)."""

    symbol: str
    name: str
    sector: str | None
    file: str
    line: int
    as_of: dt.date
    values: dict[str, float | None]


_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def number(value: str | None) -> float | None:
    """A number as files spell them: ``12.5``, ``$1,234.50``, ``2.3%`` (2.3), ``1.2B``; None if not one."""
    if value is None:
        return None
    text = value.strip().replace(",", "").replace("$", "").removesuffix("%").strip()
    if text == "" or text.upper() in ("NA", "N/A", "NULL", "NAN", "-"):
        return None
    scale = _SCALE.get(text[-1].upper(), 1.0) if len(text) > 1 and text[-2].isdigit() else 1.0
    if scale != 1.0:
        text = text[:-1]
    try:
        result = float(text) * scale
    except ValueError:
        return None
    return result if math.isfinite(result) else None


def reference_symbol(value: str) -> str:
    """A listing's symbol as the security master spells it: upper case, ``BRK/B`` -> ``BRK.B``."""
    return value.strip().upper().replace("/", ".")


def date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def file_date(name: str) -> dt.date | None:
    """The YYYY-MM-DD date in a file's name (the day a fundamentals file is as of)."""
    m = re.search(r"(\d{4}-\d{2}-\d{2})", name)
    return date(m.group(1)) if m else None


def parse_security(row: dict[str, Any]) -> Security:
    """A constituents row; the country is the headquarters' last part (a US state: the United States)."""
    hq = row.get("headquarters") or None
    state = hq.rsplit(",", 1)[-1].strip() if hq else None
    country = ("United States" if state in US_STATES else state) if state else None
    return Security(
        symbol=reference_symbol(row["symbol"]),
        name=row.get("name") or row["symbol"],
        sector=row.get("sector") or None,
        industry=row.get("industry") or None,
        hq=hq,
        state=state,
        country=row.get("country") or country,
        added=date(row.get("date_added")),
        cik=row.get("cik") or None,
    )


def parse_fundamentals(staged: StagedReference, today: dt.date) -> Fundamentals:
    """A fundamentals row, as of the date in its file's name (else ``today``)."""
    r = staged.row
    return Fundamentals(
        symbol=reference_symbol(r["symbol"]),
        name=r.get("name") or r["symbol"],
        sector=r.get("sector") or None,
        file=staged.file,
        line=staged.line,
        as_of=file_date(staged.file) or today,
        values={k: number(r.get(k)) for k in FUNDAMENTALS_NUMERIC},
    )
