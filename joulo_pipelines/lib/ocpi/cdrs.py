"""What a spec-shaped OCPI 2.2.1 CDR is, and the typed row we land for it.

The model holds the fields the spec requires plus the ones we map; other fields are allowed and kept in
the raw page. A CDR that breaks the model is quarantined with each broken field's path and reason. Only
non-personal fields are landed: the token's uid and contract id and the location's address stay in the
raw bytes, where an auditor can find them; customers and their addresses come from the file drops.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from joulo_pipelines.lib.ocpi.signed_data import SignatureCheck, check_signed_data

KWH_PLACES = Decimal("0.000001")
# The landed kWh columns are DECIMAL(18,6): a CDR claiming this much or more is refused with a reason instead of
# failing its page (the warehouse excludes anything above max_session_kwh anyway).
MAX_KWH = Decimal("1e12")
# Whose values never reach a quarantine report: they identify a driver or a home.
PERSONAL_FIELDS = frozenset({"cdr_token", "address", "city", "postal_code", "name", "coordinates"})


class _Spec(BaseModel):
    model_config = ConfigDict(extra="allow")


def _utc(value: Any) -> Any:
    """OCPI DateTime is UTC; a timestamp without a designator means UTC (spec, types: DateTime)."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return value


class CdrDimension(_Spec):
    type: str = Field(min_length=1)
    volume: Decimal


class ChargingPeriod(_Spec):
    start_date_time: datetime
    dimensions: list[CdrDimension] = Field(min_length=1)

    _utc_start = field_validator("start_date_time", mode="before")(_utc)


class CdrToken(_Spec):
    uid: str = Field(min_length=1, max_length=36)
    type: str
    contract_id: str = Field(min_length=1, max_length=36)


class CdrLocation(_Spec):
    id: str = Field(min_length=1, max_length=36)
    address: str
    city: str
    country: str = Field(min_length=3, max_length=3)
    evse_uid: str = Field(min_length=1, max_length=36)
    evse_id: str = Field(min_length=1, max_length=48)
    connector_id: str = Field(min_length=1, max_length=36)


class Price(_Spec):
    excl_vat: Decimal
    incl_vat: Decimal | None = None


class SignedValue(_Spec):
    nature: str = Field(min_length=1, max_length=32)
    plain_data: str | None = None
    signed_data: str = Field(min_length=1)


class SignedData(_Spec):
    encoding_method: str = Field(min_length=1, max_length=36)
    encoding_method_version: int | None = None
    public_key: str | None = None
    signed_values: list[SignedValue] = Field(min_length=1)
    url: str | None = None


class Cdr(_Spec):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    id: str = Field(min_length=1, max_length=39)
    start_date_time: datetime
    end_date_time: datetime
    session_id: str | None = Field(default=None, max_length=36)
    cdr_token: CdrToken
    auth_method: Literal["AUTH_REQUEST", "COMMAND", "WHITELIST"]
    cdr_location: CdrLocation
    meter_id: str | None = Field(default=None, max_length=255)
    currency: str = Field(min_length=3, max_length=3)
    charging_periods: list[ChargingPeriod] = Field(min_length=1)
    signed_data: SignedData | None = None
    total_cost: Price
    total_energy: Decimal = Field(ge=0, lt=MAX_KWH)
    total_time: Decimal = Field(ge=0)
    credit: bool | None = None
    credit_reference_id: str | None = Field(default=None, max_length=39)
    home_charging_compensation: bool | None = None
    last_updated: datetime

    _utc_times = field_validator("start_date_time", "end_date_time", "last_updated", mode="before")(_utc)

    @model_validator(mode="after")
    def _consistent(self) -> "Cdr":
        if self.end_date_time < self.start_date_time:
            raise ValueError("end_date_time is before start_date_time")
        if self.credit and not self.credit_reference_id:
            raise ValueError("a credit CDR (credit: true) needs credit_reference_id, the id of the CDR it credits")
        if not -MAX_KWH < self.energy_export_kwh < MAX_KWH:
            raise ValueError(f"the ENERGY_EXPORT volumes add up to {MAX_KWH} kWh or more")
        return self

    @property
    def energy_export_kwh(self) -> Decimal:
        """Energy the car fed back (V2G): the ENERGY_EXPORT dimensions of all charging periods."""
        return sum((d.volume for p in self.charging_periods for d in p.dimensions if d.type == "ENERGY_EXPORT"),
                   Decimal(0))


class CdrProblem(BaseModel):
    index: int  # 1-based position of the CDR in the page's `data`
    cdr_id: str | None
    field: str
    value: str | None
    reason: str


def parse_cdr(raw: Any, index: int) -> Cdr | list[CdrProblem]:
    """The CDR, or every way it breaks the spec (field path, value, reason)."""
    cdr_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    try:
        return Cdr.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = [str(part) for part in error["loc"]]
            personal = any(part in PERSONAL_FIELDS for part in path)
            problems.append(CdrProblem(index=index, cdr_id=cdr_id, field=".".join(path) or "(cdr)",
                                       value=None if personal else _short(error.get("input")), reason=error["msg"]))
        return problems


def cdr_row(cdr: Cdr, check: SignatureCheck) -> dict[str, Any]:
    """The landed columns of one CDR (without partner and lineage, which pull.py adds)."""
    return {
        "cdr_id": cdr.id,
        "country_code": cdr.country_code,
        "party_id": cdr.party_id,
        "session_id": cdr.session_id,
        "location_id": cdr.cdr_location.id,
        "evse_uid": cdr.cdr_location.evse_uid,
        "evse_id": cdr.cdr_location.evse_id,
        "meter_id": cdr.meter_id,
        "start_date_time": cdr.start_date_time,
        "end_date_time": cdr.end_date_time,
        "total_energy_kwh": cdr.total_energy.quantize(KWH_PLACES),
        "energy_export_kwh": cdr.energy_export_kwh.quantize(KWH_PLACES),
        "is_credit": bool(cdr.credit),
        "credit_reference_id": cdr.credit_reference_id,
        "home_charging_compensation": cdr.home_charging_compensation,
        "last_updated": cdr.last_updated,
        "signed_encoding_method": cdr.signed_data.encoding_method if cdr.signed_data else None,
        "signature_check": check.outcome,
        "signed_energy_kwh": check.signed_energy_kwh.quantize(KWH_PLACES) if check.signed_energy_kwh is not None
        else None,
        "signature_reason": check.reason,
    }


def check_cdr_signature(cdr: Cdr) -> SignatureCheck:
    if cdr.signed_data is None:
        return SignatureCheck("absent")
    return check_signed_data(
        cdr.signed_data.encoding_method,
        cdr.signed_data.public_key,
        [value.signed_data for value in cdr.signed_data.signed_values],
    )


def _short(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
