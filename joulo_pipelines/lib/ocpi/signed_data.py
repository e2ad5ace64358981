"""Signed meter values in a CDR's `signed_data`: verify OCMF records with `pyocmf`.

Outcome per CDR: `verified` (every record's signature checks out against the CDR's public key, and the
begin and end import registers are found), `invalid` (a record does not parse, a signature does not
match, or the readings do not give an energy), `absent` (no signed data) or `unsupported` (signed in an
encoding other than OCMF, which we keep but cannot check). Whether the signed energy agrees with the
CDR's total_energy is a rule, and dbt decides it from `signed_energy_kwh`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pyocmf import OCMF, PyOCMFError
from pyocmf.enums.reading import MeterReadingReason
from pyocmf.registries.obis import OBISCategory, get_obis_info, is_transaction_register

Outcome = Literal["verified", "invalid", "absent", "unsupported"]
WH_PER_KWH = Decimal(1000)


@dataclass(frozen=True)
class SignatureCheck:
    outcome: Outcome
    signed_energy_kwh: Decimal | None = None
    reason: str | None = None


def check_signed_data(encoding_method: str, public_key: str | None, signed_values: list[str]) -> SignatureCheck:
    if encoding_method.upper() != "OCMF":
        return SignatureCheck("unsupported", reason=f"encoding_method {encoding_method!r} is not OCMF")
    if not public_key:
        return SignatureCheck("invalid", reason="signed_data has no public_key to verify the OCMF records with")
    readings = []
    for number, value in enumerate(signed_values, start=1):
        try:
            record = OCMF.from_string(_ocmf_text(value))
            if not record.verify_signature(public_key):
                return SignatureCheck("invalid", reason=f"signed value {number}: the signature does not match "
                                                         "the payload (altered after signing, or another key)")
        except PyOCMFError as exc:
            return SignatureCheck("invalid", reason=f"signed value {number}: {exc}")
        readings += record.payload.RD
    energy = _register_difference(readings)
    if energy is None:
        return SignatureCheck("invalid", reason="the signed readings lack a begin (TX=B) and end (TX=E) "
                                                "reading of the import register")
    return SignatureCheck("verified", signed_energy_kwh=energy)


def _ocmf_text(value: str) -> str:
    """OCPI carries a signed value base64-encoded; some senders put the OCMF text (or its hex) in as is."""
    text = value.strip()
    if text.startswith("OCMF|"):
        return text
    try:
        decoded = base64.b64decode(text, validate=True)
    except binascii.Error:
        return text  # pyocmf reads hex, and reports anything else as not OCMF
    return decoded.decode("utf-8", errors="replace") if decoded.startswith(b"OCMF|") else text


def _register_difference(readings: list) -> Decimal | None:
    """kWh between the first begin and the last end reading of a cumulative import register."""
    registers = [r for r in readings if r.RV is not None and _is_import_register(r)]
    begins = [r for r in registers if r.TX == MeterReadingReason.BEGIN]
    ends = [r for r in registers if isinstance(r.TX, MeterReadingReason) and r.TX.is_end_reading()]
    if not begins or not ends:
        return None
    return _kwh(ends[-1]) - _kwh(begins[0])


def _is_import_register(reading) -> bool:
    if reading.RI is None:
        return True
    info = get_obis_info(reading.RI.code)
    return info is not None and info.category == OBISCategory.IMPORT and not is_transaction_register(reading.RI.code)


def _kwh(reading) -> Decimal:
    value = Decimal(reading.RV)
    return value / WH_PER_KWH if str(reading.RU) == "Wh" else value
