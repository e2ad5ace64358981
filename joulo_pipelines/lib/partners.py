"""The partner registry (config/partners.yaml): who our partners are and how we deal with them.

Validated on load; an error names the partner and the field and says what is accepted. Secrets never
live in the file: an OCPI source names the environment variable that holds its token.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from joulo_pipelines.lib.iban import Iban


class PartnerRegistryError(ValueError):
    pass


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

    @model_validator(mode="after")
    def _ocpi_needs_url_and_token(self) -> "Source":
        if self.type == "ocpi" and not (self.url and self.token_env):
            raise ValueError("an ocpi source needs `url` and `token_env` (the env var holding the token)")
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


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    name: str
    brand: Brand
    payout_model: Literal["direct", "partner_account"]
    partner_iban: Iban | None = None
    service_fee_pct: Decimal = Field(ge=0, le=100)
    partner_share_pct: Decimal = Field(default=Decimal(0), ge=0, le=100)
    source: Source = Source()
    payouts: PayoutControls = PayoutControls()

    @model_validator(mode="after")
    def _money_terms_add_up(self) -> "Partner":
        if self.payout_model == "partner_account" and not self.partner_iban:
            raise ValueError("payout_model partner_account needs partner_iban")
        if self.service_fee_pct + self.partner_share_pct > 100:
            raise ValueError("service_fee_pct + partner_share_pct exceeds 100")
        return self


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
            partner_id = document["partners"][loc[1]].get("id", f"#{loc[1] + 1}")  # type: ignore[index]
        except (TypeError, KeyError, IndexError, AttributeError):
            partner_id = f"#{loc[1] + 1}"
        rest = ".".join(str(part) for part in loc[2:]) or "(entry)"
        return f"partner {partner_id!r}: {rest}"
    return ".".join(str(part) for part in loc) or "(document)"
