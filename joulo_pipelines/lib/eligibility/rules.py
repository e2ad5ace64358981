"""Which charge points may be booked: the reason catalogue and the checks of single values.

The reasons (data/reference/eligibility_reasons.csv, a dbt seed too) are shared by the warehouse's
eligibility models, the MID scan and the reports, so a code means the same everywhere. The value checks
here run over customers (a few thousand rows per partner, never sessions): EAN, postal code and IBAN.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from joulo_pipelines.lib.ean import is_eighteen_digits, is_valid_ean
from joulo_pipelines.lib.paths import REFERENCE_DIR

REASONS_FILE = REFERENCE_DIR / "eligibility_reasons.csv"
DUTCH_POSTAL_CODE = re.compile(r"[1-9][0-9]{3} ?(?!SA|SD|SS)[A-Z]{2}")


@dataclass(frozen=True)
class Reason:
    code: str
    rule: str
    action: str
    can_be_fixed: bool


@cache
def reasons() -> dict[str, Reason]:
    with REASONS_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["reason"]: Reason(row["reason"], row["rule"], row["action"], row["can_be_fixed"] == "true")
                for row in csv.DictReader(handle)}


def status_for(reason_codes: list[str]) -> str:
    """eligible (no reason), action_needed (every reason can be fixed) or not_eligible."""
    if not reason_codes:
        return "eligible"
    catalogue = reasons()
    return "action_needed" if all(catalogue[code].can_be_fixed for code in reason_codes) else "not_eligible"


def ean_problem(code: str | None) -> str | None:
    """None for a valid Dutch EAN, else what is wrong with it (no digits of it: it identifies a home)."""
    text = (code or "").strip()
    if not text:
        return "missing"
    if not is_eighteen_digits(text):
        return "not 18 digits"
    if not is_valid_ean(text):
        return "GS1 check digit does not match"
    if not text.startswith("871"):
        return "not a Dutch EAN (871...)"
    return None


def is_dutch_postal_code(code: str | None) -> bool:
    """`1234 AB` or `1234AB`; PostNL never issues SA, SD or SS, and no code starts with 0."""
    return bool(code) and DUTCH_POSTAL_CODE.fullmatch(code.strip().upper()) is not None


def iban_problem(iban: str | None) -> str | None:
    """None for a valid IBAN (schwifty: country format, check digits, bank code), else the reason."""
    if not iban or not iban.strip():
        return "missing"
    try:
        IBAN(iban)
    except SchwiftyException as exc:
        return type(exc).__name__  # e.g. InvalidChecksumDigits; never the IBAN itself
    return None
