"""The partner registry (config/partners.yaml): who our partners are and how we deal with them.

Validated on load; an error names the partner and the field and says what is accepted. Secrets never
live in the file: an OCPI source names the environment variable that holds its token.

The money terms (service fee, partner share, payout model and the partner's IBAN) are contracts with dates:
each is valid from the first day of a quarter until the next one's, so a quarter has exactly one contract,
and `Partner.contract_in_force` is the one answer to which applies. The flat form (the terms beside `id`)
is one contract valid from the beginning.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator

from joulo_pipelines.lib.iban import Iban
from joulo_pipelines.lib.quarters import Quarter


class PartnerRegistryError(ValueError):
    pass


class NoContractInForce(ValueError):
    """The partner's first contract starts after the quarter asked about."""


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str
    sender_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    colour: str = Field(default="#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str | None = None
    mention_provider: bool = False


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["files", "ocpi", "ocpp"] = "files"
    url: str | None = None
    token_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    # OCPP: 1 = HTTP Basic with each charge point's own password (`joulo ocpp-credentials`), 2 = the same over
    # TLS only. Being phased out: the env var of a partner-wide password, still accepted for a charge point
    # that has no password of its own.
    security_profile: Literal[1, 2] = 1
    basic_auth_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    # OCPP: open connections the partner's charge points may hold at once; more are refused (503).
    max_connections: int = Field(default=10_000, ge=1)
    # OCPP proxy mode: the partner keeps its own back office (CSMS) at this URL; each charger's connection is
    # relayed to <upstream_url>/<charge point>, with the password in this env var (ocpp_gateway/proxy.py).
    upstream_url: str | None = Field(default=None, pattern=r"^wss?://")
    upstream_auth_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")

    @model_validator(mode="after")
    def _ocpi_needs_url_and_token(self) -> "Source":
        if self.type == "ocpi" and not (self.url and self.token_env):
            raise ValueError("an ocpi source needs `url` and `token_env` (the env var holding the token)")
        if self.type != "ocpp" and (self.upstream_url or self.upstream_auth_env):
            raise ValueError("`upstream_url` and `upstream_auth_env` are for an ocpp source (proxy mode)")
        return self


class PayoutControls(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Four eyes: the person who approves a payout batch is not the one who prepared it. Only a one-person
    # trial turns this off, in the registry, where it shows.
    four_eyes: StrictBool = True
    # Advances, as the market offers them: this percentage of the customer's net on the estimate is paid once
    # a booking is submitted to the register, and settled when its units are issued and sold. 0: none.
    advance_pct: Decimal = Field(default=Decimal(0), ge=0, le=100)
    # Held from every settlement until the delivery year's verifier statement is recorded, then released. 0: none.
    holdback_pct: Decimal = Field(default=Decimal(0), ge=0, le=100)


class Contract(BaseModel):
    """A partner's money terms from `valid_from`, the first day of a quarter, until the next contract's."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    valid_from: date = date.min  # the flat form: valid from the beginning
    payout_model: Literal["direct", "partner_account"]
    partner_iban: Iban | None = None
    service_fee_pct: Decimal = Field(ge=0, le=100)
    partner_share_pct: Decimal = Field(default=Decimal(0), ge=0, le=100)

    @field_validator("valid_from")
    @classmethod
    def _starts_a_quarter(cls, day: date) -> date:
        # One contract per quarter: a quarter is computed, booked and paid as a whole.
        if day != date.min and (day.day != 1 or day.month not in (1, 4, 7, 10)):
            raise ValueError(f"{day.isoformat()} is not the first day of a quarter; accepted: YYYY-01-01, "
                             "YYYY-04-01, YYYY-07-01 or YYYY-10-01")
        return day

    @model_validator(mode="after")
    def _money_terms_add_up(self) -> "Contract":
        if self.payout_model == "partner_account" and not self.partner_iban:
            raise ValueError("payout_model partner_account needs partner_iban")
        if self.service_fee_pct + self.partner_share_pct > 100:
            raise ValueError("service_fee_pct + partner_share_pct exceeds 100")
        return self


CONTRACT_TERMS = [name for name in Contract.model_fields if name != "valid_from"]


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    name: str
    brand: Brand
    contracts: list[Contract] = Field(min_length=1)  # by valid_from
    source: Source = Source()
    payouts: PayoutControls = PayoutControls()

    @model_validator(mode="before")
    @classmethod
    def _flat_terms_are_one_contract(cls, data: object) -> object:
        if not isinstance(data, dict) or not any(term in data for term in CONTRACT_TERMS):
            return data
        if "contracts" in data:
            raise ValueError(f"give the money terms either flat ({', '.join(CONTRACT_TERMS)}) or as a list "
                             "under `contracts`, not both")
        terms = {term: data[term] for term in CONTRACT_TERMS if term in data}
        return {key: value for key, value in data.items() if key not in CONTRACT_TERMS} | {"contracts": [terms]}

    @field_validator("contracts")
    @classmethod
    def _one_contract_per_quarter(cls, contracts: list[Contract]) -> list[Contract]:
        days = [c.valid_from for c in contracts]
        repeated = sorted({d.isoformat() for d in days if days.count(d) > 1})
        if repeated:
            raise ValueError(f"two contracts valid from {', '.join(repeated)}; accepted: one contract per valid_from")
        return sorted(contracts, key=lambda c: c.valid_from)

    def contract_in_force(self, quarter: Quarter) -> Contract:
        """The contract that computes, books and pays the quarter: the latest valid from its first day or before."""
        in_force = [c for c in self.contracts if c.valid_from <= quarter.start]
        if not in_force:
            raise NoContractInForce(f"partner {self.id!r} has no contract in force in {quarter}: its first "
                                    f"contract is valid from {self.contracts[0].valid_from.isoformat()}")
        return in_force[-1]

    def contracts_from(self, quarter: Quarter) -> list[Contract]:
        """The contract in force in the quarter (if any) and every later one."""
        return [c for c, until in self.contract_windows() if until is None or until > quarter.start]

    def contract_windows(self) -> list[tuple[Contract, date | None]]:
        """Each contract with the day its successor starts (None for the last): half-open windows."""
        return list(zip(self.contracts, [c.valid_from for c in self.contracts[1:]] + [None]))


class PartnerRegistry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partners: list[Partner]

    @model_validator(mode="after")
    def _ids_are_unique(self) -> "PartnerRegistry":
        ids = [p.id for p in self.partners]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"partner ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    def get(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def require(self, partner_id: str) -> Partner:
        """The partner, or a ValueError naming the ones there are."""
        partner = self.get(partner_id)
        if partner is None:
            raise ValueError(f"partner {partner_id!r} is not in config/partners.yaml; known: {', '.join(self.ids)}")
        return partner

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.partners]


def load_registry(path: Path) -> PartnerRegistry:
    if not path.exists():
        raise PartnerRegistryError(f"{path}: partner registry not found; create it (see README, 'Partner registry')")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PartnerRegistryError(f"{path}: not valid YAML: {exc}") from None
    try:
        return PartnerRegistry.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = _describe_location(document, error["loc"])
            problems.append(f"  {location}: {error['msg']}")
        raise PartnerRegistryError(f"{path}: invalid partner registry:\n" + "\n".join(problems)) from None


def _describe_location(document: object, loc: tuple) -> str:
    """`partners[1].brand.colour` becomes `partner 'voltnet': brand.colour`, easier to find in the file."""
    if len(loc) >= 2 and loc[0] == "partners" and isinstance(loc[1], int):
        try:
            entry = document["partners"][loc[1]]  # type: ignore[index]
            partner_id = entry.get("id", f"#{loc[1] + 1}")
        except (TypeError, KeyError, IndexError, AttributeError):
            entry, partner_id = {}, f"#{loc[1] + 1}"
        rest_loc = loc[2:]
        if rest_loc[:1] == ("contracts",) and isinstance(entry, dict) and "contracts" not in entry:
            rest_loc = rest_loc[2:]  # the flat form: its terms are where the file has them
        elif rest_loc[:1] == ("contracts",) and len(rest_loc) >= 2 and isinstance(rest_loc[1], int):
            rest_loc = (f"contract #{rest_loc[1] + 1}", *rest_loc[2:])
        rest = ".".join(str(part) for part in rest_loc) or "(entry)"
        return f"partner {partner_id!r}: {rest}"
    return ".".join(str(part) for part in loc) or "(document)"
