"""The MID meter register (data/reference/mid_meters.csv): does a charger model have an integrated MID meter?

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
STATUSES = ("yes", "no", "optional", "unknown")
UNMATCHED = "unmatched"

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
    integrated_mid_meter: str
    meter_make: str
    meter_model: str
    mid_certificate: str
    notified_body: str
    max_power_kw: str
    source: str
    notes: str
    pattern: re.Pattern


@dataclass(frozen=True)
class MeterMatch:
    mid_status: str  # yes | no | optional | unknown | unmatched
    register_line: int | None  # line of the matching register row (header = 1), for traceability
    register_brand: str | None
    source: str | None


def normalise(text: str | None) -> str:
    """`" EVE  Single_Pro-line "` -> `"eve single pro line"`."""
    return re.sub(r"[\s_\-]+", " ", (text or "").strip().lower()).strip()


def normalise_brand(text: str | None) -> str:
    brand = normalise(text)
    return BRAND_ALIASES.get(brand, brand)


@cache
def load_register(path: Path = REGISTER_FILE) -> tuple[RegisterEntry, ...]:
    """Every register row, validated: a bad row names its line and what is accepted."""
    entries = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            status = row["integrated_mid_meter"].strip()
            if status not in STATUSES:
                raise RegisterError(f"{path.name} line {line}: integrated_mid_meter {status!r}; accepted: "
                                    f"{', '.join(STATUSES)}")
            if status in ("yes", "no") and not row["source"].startswith("http"):
                raise RegisterError(f"{path.name} line {line}: a '{status}' needs a source URL as evidence")
            try:
                pattern = re.compile(row["model_pattern"])
            except re.error as exc:
                raise RegisterError(f"{path.name} line {line}: model_pattern is not a regex ({exc})") from None
            entries.append(RegisterEntry(line=line, pattern=pattern, **{k: (v or "").strip() for k, v in row.items()}))
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
            return MeterMatch(entry.integrated_mid_meter, entry.line, entry.brand, entry.source)
    return MeterMatch(UNMATCHED, None, None, None)


def match_pairs(pairs: list[tuple[str | None, str | None]]) -> list[MeterMatch]:
    """Match distinct brand/model pairs (callers pass distinct values: a few hundred, not every charger)."""
    return [match(brand, model) for brand, model in pairs]
