"""The one IBAN check of the models that take an IBAN (partner registry, payout settings, the partner API):
schwifty checks country format, check digits and bank code, and gives the compact form we store. And the one
way an IBAN is shown to a person (emails, statements, reports, the mandate document): masked."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


def normalised_iban(value: str) -> str:
    try:
        return str(IBAN(value))
    except SchwiftyException as exc:
        # schwifty's message says what is wrong (checksum, length, bank code) without repeating the IBAN.
        raise ValueError(f"not a valid IBAN ({exc})") from None


Iban = Annotated[str, AfterValidator(normalised_iban)]


def mask_iban(iban: str | None) -> str:
    """NL91ABNA0417164300 -> 'NL91 **** **** 4300': enough to recognise, not enough to use."""
    compact = (iban or "").replace(" ", "")
    if len(compact) < 8:
        return "****"
    return f"{compact[:4]} **** **** {compact[-4:]}"


def mask_iban_sql(column: str) -> str:
    """mask_iban as a SQL expression over `column`, for queries whose rows must never carry the IBAN itself."""
    compact = f"replace(coalesce({column}, ''), ' ', '')"
    return (f"case when length({compact}) < 8 then '****' "
            f"else left({compact}, 4) || ' **** **** ' || right({compact}, 4) end")
