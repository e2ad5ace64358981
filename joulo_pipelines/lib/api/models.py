"""What the partner API accepts and answers, as pydantic models: FastAPI validates requests against them
(422 with the field's location) and publishes them in the OpenAPI document.

The mandate carries what DOMAIN.md requires of one: the connection holder's name, address and EAN, the
two permissions (the NEa may request the connection's data from the grid operator; the verifier may
inspect the location), the moment it was signed, a validity in whole calendar years without tacit
renewal, and the exact consent text the customer saw (version and hash) with the signing record (who the
partner authenticated, how, and from which client); businesses add company, KvK number and signatory. Amounts are integer cents, kWh and ERE decimal strings: never a float."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, IPvAnyAddress, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from joulo_pipelines.lib.contract import (CONTROL_CHARACTERS, EMAIL_PATTERN, REF_MAX_LENGTH, REF_PATTERN,
                                          TEXT_PATTERN)
from joulo_pipelines.lib.ean import is_valid_ean
from joulo_pipelines.lib.iban import normalised_iban

# Text and customer refs follow the file contract's rules (lib/contract.py): a value refused in a file is
# refused here too, and the other way round.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=TEXT_PATTERN)]
CustomerRef = Annotated[str, StringConstraints(min_length=1, max_length=REF_MAX_LENGTH, pattern=REF_PATTERN)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
SIGNED_FROM = datetime(2000, 1, 1, tzinfo=timezone.utc)
EVENT_TYPES = ("customer.eligible", "customer.ineligible", "booking.submitted", "payout.approved", "payout.sent")
EventType = Literal["customer.eligible", "customer.ineligible", "booking.submitted", "payout.approved", "payout.sent"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(Strict):
    street: Text
    house_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20,
                                                   pattern=rf"^[0-9][^{CONTROL_CHARACTERS}]*$")]
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[1-9][0-9]{3} ?[A-Za-z]{2}$")] = \
        Field(description="Dutch postal code, `1234 AB` or `1234AB`.")
    city: Text


class Business(Strict):
    company_name: Text
    kvk_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")] = Field(description="8 digits.")
    signatory_name: Text = Field(description="Who signed for the company.")


class Signature(Strict):
    """How the partner knew it was the customer who ticked the box: with the consent text's version and hash
    and the moment (`signed_at`), a simple electronic signature. Kept append-only, never logged."""

    partner_user_id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT_PATTERN)] = Field(
        description="The customer's user id in the partner's platform, as authenticated when they ticked the box.")
    authentication: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{1,31}$")] = Field(
        description="How the partner authenticated them: `password`, `otp`, `idin`, `sso`, ...")
    ip_address: IPvAnyAddress = Field(description="The client's IP address as the partner saw it.")
    user_agent: Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=TEXT_PATTERN)] = Field(
        description="The client's User-Agent as the partner saw it.")


class Mandate(Strict):
    # A lower bound also keeps far-off offsets from overflowing when the time is converted (year 1 at +14:00).
    signed_at: AwareDatetime = Field(ge=SIGNED_FROM, description="When the customer ticked the box; with a UTC "
                                                                 "offset; from 2000 on, not in the future.")
    valid_from_year: int | None = Field(default=None, ge=2026, le=2100,
                                        description="First calendar year of the mandate; default the year it "
                                                    "was signed (Europe/Amsterdam).")
    validity_years: int = Field(ge=1, le=10, description="Whole calendar years; the mandate ends on 31 December "
                                                         "of its last year and is never renewed tacitly.")
    permission_grid_data: Literal[True] = Field(description="The NEa may request the connection's data from "
                                                            "the grid operator. Required: true.")
    permission_site_inspection: Literal[True] = Field(description="The verifier may inspect the location. "
                                                                  "Required: true.")
    consent_text_version: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=TEXT_PATTERN)] = \
        Field(description="The version of the consent text the customer saw, one we publish, e.g. `2026-01`.")
    consent_text_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 (hex) of the consent text's bytes as the customer saw it, in their language: "
                    "the hash we publish with the version.")
    signature: Signature


class ChargePoint(Strict):
    charge_point_ref: Ref = Field(description="The partner's id; the OCPP identity / OCPI evse_uid where used.")
    brand: Text
    model: Text
    serial_number: Text
    meter_serial: Text | None = Field(default=None, description="Serial of the integrated meter; needed to be "
                                                                "eligible.")
    mid_certificate: Text | None = Field(default=None, description="MID certificate number, if known.")
    installed_at: date | None = None


class Enrolment(Strict):
    """A customer and their mandate, as signed with one checkbox in the partner's platform."""

    customer_ref: CustomerRef = Field(description="The partner's own id of the customer, unique within the "
                                                  "partner; letters, digits, '.', '_' and '-' (it names files).")
    name: Text = Field(description="The connection holder (aangeslotene) who signs.")
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
    iban: Annotated[str, StringConstraints(min_length=15, max_length=42), AfterValidator(normalised_iban)] | None = Field(
        default=None, description="The customer's account; required when the partner pays customers directly.")
    account_holder: Text | None = None
    address: Address
    ean: Annotated[str, StringConstraints(pattern=r"^871[0-9]{15}$")] = Field(
        description="The connection's 18-digit EAN (GSRN, GS1 check digit, starting 871).")
    language: Literal["nl", "en"] = "nl"
    business: Business | None = None
    mandate: Mandate
    charge_points: list[ChargePoint] = Field(min_length=1, max_length=50)

    @field_validator("ean")
    @classmethod
    def _ean_has_its_check_digit(cls, value: str) -> str:
        if not is_valid_ean(value):
            raise ValueError("the last digit is not the GS1 check digit of the first 17")
        return value

    @model_validator(mode="after")
    def _charge_point_refs_are_unique(self) -> "Enrolment":
        refs = [c.charge_point_ref for c in self.charge_points]
        repeated = sorted({r for r in refs if refs.count(r) > 1})
        if repeated:
            raise ValueError(f"charge_point_ref repeated: {', '.join(repeated)}")
        return self


class Reason(BaseModel):
    code: str
    rule: str | None = None
    action: str | None = None


class ChargePointStatus(BaseModel):
    charge_point_ref: str
    status: Literal["eligible", "action_needed", "not_eligible"]
    reasons: list[str]


class Eligibility(BaseModel):
    status: Literal["eligible", "action_needed", "not_eligible"] = Field(
        description="eligible; action_needed (every reason can be fixed); not_eligible.")
    quarter: str = Field(description="The latest quarter the pipeline built, e.g. 2026-Q4.")
    reasons: list[Reason]
    charge_points: list[ChargePointStatus]


class MandateStatus(BaseModel):
    signed_at: datetime | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    revoked_at: datetime | None = None


class YearEnergy(BaseModel):
    year: int
    kwh: Decimal = Field(description="Clean kWh measured this year.")
    eligible_kwh: Decimal = Field(description="kWh that may be booked.")
    ere_estimate: Decimal = Field(description="Our estimate; the REV computes the official units.")


class Payout(BaseModel):
    quarter: str
    amount_cents: int
    status: str = Field(description="paid, carried_over, netted, held or nothing_due.")
    reason: str
    payment_date: date | None = None


class CustomerStatus(BaseModel):
    customer_ref: str
    state: Literal["received", "processed"] = Field(
        description="received: accepted by the API, not yet through a quarter run; processed: the status "
                    "below is the pipeline's.")
    received_at: datetime | None = Field(default=None, description="When the API accepted the latest change.")
    as_of: datetime | None = Field(default=None, description="When the pipeline's status below was taken.")
    mandate: MandateStatus
    charge_point_refs: list[str]
    eligibility: Eligibility | None = None
    year_to_date: YearEnergy | None = None
    next_payout: Payout | None = Field(default=None, description="The next unapproved quarter's payout as it "
                                                                 "would be approved now.")
    next_payout_unavailable: str | None = Field(default=None, description="Why there is no estimate.")
    last_payout: Payout | None = None


class BookingSummary(BaseModel):
    status: Literal["draft", "submitted"]
    booking_ids: list[str]
    eans: int
    kwh: Decimal
    units: Decimal


class PayoutSummary(BaseModel):
    status: Literal["approved", "sent"]
    payment_date: date
    customers_paid: int
    paid_cents: int
    carried_over_cents: int


class QuarterSummary(BaseModel):
    quarter: str
    as_of: datetime
    customers: int
    charge_points: dict[str, int] = Field(description="Charge points per eligibility status.")
    reasons: dict[str, int] = Field(description="Charge points per failing reason.")
    eligible_eans: int
    kwh: Decimal
    eligible_kwh: Decimal
    ere_estimate: Decimal
    booking: BookingSummary | None = None
    payout: PayoutSummary | None = None


class WebhookIn(Strict):
    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[^\s/$.?#][^\s]*$")]
    event_types: list[EventType] = Field(default=list(EVENT_TYPES), min_length=1,
                                         description="Which events to send; default all.")


class Webhook(BaseModel):
    webhook_id: str
    url: str
    event_types: list[str]
    created_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="Standard Webhooks signing secret (`whsec_...`); shown once.")


class DeliveryAttempt(BaseModel):
    event_id: str
    event_type: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class Delivery(BaseModel):
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int


class DeliveryLog(BaseModel):
    deliveries: list[Delivery]
    attempts: list[DeliveryAttempt]


class Event(BaseModel):
    id: str
    type: str
    timestamp: datetime
    data: dict


class EventPage(BaseModel):
    events: list[Event]
    next_after: str | None = Field(description="Pass as `after` for the next page; null at the end.")


class Problem(BaseModel):
    detail: str


class EvidenceDocument(BaseModel):
    record_id: str = Field(description="Names the document for this charge point in `joulo mid review`.")
    charge_point_ref: str
    document_sha256: str = Field(description="The document is kept under this hash, never overwritten.")
    file_name: str
    media_type: Literal["application/pdf", "image/jpeg", "image/png"]
    size_bytes: int
    received_at: datetime
    review: Literal["pending", "accepted", "rejected"] = Field(
        description="pending until a person has read the document; accepted makes the charge point's MID "
                    "rule pass from the next quarter run.")
