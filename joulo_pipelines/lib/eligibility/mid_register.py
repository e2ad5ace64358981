"""The MID meter register (data/reference/mid_meters.csv): does a charger model have an integrated MID meter?

Five statuses (DOMAIN.md): `integrated` (a MID meter as sold), `optional` (a MID variant exists: check the
unit), `external` (eligible with a MID meter fitted beside it), `none`, `unknown`. Each row names its source,
the kind of source, the sentence that supports it and whether a primary document (a declaration of
conformity, a datasheet or a manual of the manufacturer) was read; `integrated` only on a primary document
read, with its sentence. Leads not yet confirmed by a document stay in the `lead` column, not in the status.

Partners type brand and model strings by hand ("alfen", "EVE SINGLE S-LINE", "Eve Single Pro-line"), so
both are normalised before matching: lower case, with spaces, underscores and hyphens collapsed to one
space. A row's `model_pattern` is a regex that must match the whole normalised model; rows are tried in
file order and the first match within the brand wins, so specific variants are listed before fallbacks.
What matches nothing is `unmatched`, and is reported, never guessed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from joulo_pipelines.lib.paths import REFERENCE_DIR

REGISTER_FILE = REFERENCE_DIR / "mid_meters.csv"
STATUSES = ("integrated", "optional", "external", "none", "unknown")
# Statuses under which a unit may still qualify once it is checked (its plate, its declaration of conformity).
CHECK_THE_UNIT = ("optional", "external")
UNMATCHED = "unmatched"
PRIMARY_SOURCE_KINDS = ("declaration_of_conformity", "datasheet", "manual")
SOURCE_KINDS = (*PRIMARY_SOURCE_KINDS, "secondary")

# Names partners use for a brand that the register lists under another name (rebrands, parent companies).
BRAND_ALIASES = {
    "newmotion": "shell recharge",
    "shell": "shell recharge",
    "schneider": "schneider electric",
    "amperfied": "heidelberg",
    "go e": "go-e",
    "goe": "go-e",
    "go echarger": "go-e",
    "volkswagen": "elli",
    "vw": "elli",
    "innogy": "innogy/esystems",
    "esystems": "innogy/esystems",
    "e systems": "innogy/esystems",
    "ev box": "evbox",
    "podpoint": "pod point",
    "my energi": "myenergi",
}


class RegisterError(ValueError):
    pass


@dataclass(frozen=True)
class RegisterEntry:
    line: int
    brand: str
    model_pattern: str
    mid_status: str
    source_url: str
    source_kind: str
    source_quote: str
    primary_document_read: str
    lead: str
    meter_make: str
    meter_model: str
    mid_certificate: str
    notified_body: str
    max_power_kw: str
    notes: str
    pattern: re.Pattern


@dataclass(frozen=True)
class MeterMatch:
    mid_status: str  # integrated | optional | external | none | unknown | unmatched
    register_line: int | None  # line of the matching register row (header = 1), for traceability
    register_brand: str | None
    source: str | None


def normalise(text: str | None) -> str:
    """`" EVE  Single_Pro-line "` -> `"eve single pro line"`."""
    return re.sub(r"[\s_\-]+", " ", (text or "").strip().lower()).strip()


def normalise_brand(text: str | None) -> str:
    brand = normalise(text)
    return BRAND_ALIASES.get(brand, brand)


def _row_problem(row: dict[str, str]) -> str | None:
    """What makes a register row unacceptable as evidence, or None."""
    status, kind, read = row["mid_status"], row["source_kind"], row["primary_document_read"]
    if status not in STATUSES:
        return f"mid_status {status!r}; accepted: {', '.join(STATUSES)}"
    if kind not in (*SOURCE_KINDS, ""):
        return f"source_kind {kind!r}; accepted: {', '.join(SOURCE_KINDS)} (empty without a source_url)"
    if read not in ("true", "false"):
        return f"primary_document_read {read!r}; accepted: true, false"
    if bool(row["source_url"]) != bool(kind) or (row["source_url"] and not row["source_url"].startswith("http")):
        return "source_url (an http(s) URL) and source_kind go together"
    if read == "true" and kind not in PRIMARY_SOURCE_KINDS:
        return f"primary_document_read true needs a primary source_kind ({', '.join(PRIMARY_SOURCE_KINDS)})"
    if status == "integrated" and not (read == "true" and row["source_quote"]):
        return "an 'integrated' needs a primary document read (primary_document_read true) and its source_quote"
    if status == "none" and not (row["source_url"] and row["source_quote"]):
        return "a 'none' needs a source_url and its source_quote"
    return None


@cache
def load_register(path: Path = REGISTER_FILE) -> tuple[RegisterEntry, ...]:
    """Every register row, validated: a bad row names its line and what is accepted."""
    entries = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            row = {k: (v or "").strip() for k, v in row.items()}
            problem = _row_problem(row)
            if problem is not None:
                raise RegisterError(f"{path.name} line {line}: {problem}")
            try:
                pattern = re.compile(row["model_pattern"])
            except re.error as exc:
                raise RegisterError(f"{path.name} line {line}: model_pattern is not a regex ({exc})") from None
            entries.append(RegisterEntry(line=line, pattern=pattern, **row))
    return tuple(entries)


def match(brand: str | None, model: str | None, register: tuple[RegisterEntry, ...] | None = None) -> MeterMatch:
    """The register's verdict on one brand/model string pair."""
    entries = load_register() if register is None else register
    wanted_brand = normalise_brand(brand)
    wanted_model = normalise(model)
    # Partners often repeat the brand in the model field ("Alfen Eve Single"): the patterns allow both.
    for entry in entries:
        if normalise_brand(entry.brand) != wanted_brand:
            continue
        if entry.pattern.fullmatch(wanted_model):
            return MeterMatch(entry.mid_status, entry.line, entry.brand, entry.source_url or None)
    return MeterMatch(UNMATCHED, None, None, None)


def match_pairs(pairs: list[tuple[str | None, str | None]]) -> list[MeterMatch]:
    """Match distinct brand/model pairs (callers pass distinct values: a few hundred, not every charger)."""
    return [match(brand, model) for brand, model in pairs]


def mid_reason(mid_status: str, has_certificate: bool) -> str | None:
    """The eligibility reason a charge point gets from its model's register status (None: the meter is fine).
    A MID certificate the partner delivers settles every status but `none`; `optional` and `external` are a
    check of the unit, never a rejection. fct_charge_point_eligibility.sql applies the same mapping."""
    if mid_status == "none":
        return "mid_meter_absent"
    if mid_status == "integrated" or has_certificate:
        return None
    return {"optional": "mid_unit_check_needed", "external": "mid_external_meter_needed"}.get(
        mid_status, "mid_evidence_missing")
