"""The one IBAN check of the models that take an IBAN (partner registry, payout settings, the partner API):
schwifty checks country format, check digits and bank code, and gives the compact form we store."""

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
