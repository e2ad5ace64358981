"""The consent texts a customer agrees to by ticking the box: versioned documents in the data dir's
config, `config/consent_texts/<version>.<lang>.md`, each known by the SHA-256 of its bytes.

A signing record names the version and the hash of the text the customer saw; a version we do not have,
or a hash that is not that version's, is refused (the API answers 422, the warehouse keeps the mandate
from being booked). A text is never edited in place: a change is a new version, so the hash of every text
ever signed stays valid and the mandate document shows it byte for byte. Our own texts ship in
data/reference/consent_texts/; `install_reference_texts` copies them into a data dir's config."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from joulo_pipelines.lib.paths import REFERENCE_DIR, DataDir

REFERENCE_TEXTS = REFERENCE_DIR / "consent_texts"
FILE_NAME = re.compile(r"^(?P<version>[A-Za-z0-9][A-Za-z0-9._-]*)\.(?P<language>nl|en)\.md$")


@dataclass(frozen=True)
class ConsentText:
    version: str
    language: str
    sha256: str
    text: str


def folder(data_dir: DataDir) -> Path:
    return data_dir.config / "consent_texts"


def consent_texts(data_dir: DataDir) -> list[ConsentText]:
    """Every text in the data dir's config, by version and language."""
    found = []
    for path in sorted(folder(data_dir).glob("*.md")):
        match = FILE_NAME.match(path.name)
        if match:
            content = path.read_bytes()
            found.append(ConsentText(match["version"], match["language"], hashlib.sha256(content).hexdigest(),
                                     content.decode("utf-8")))
    return found


def problem(texts: list[ConsentText], version: str, sha256: str) -> tuple[str, str] | None:
    """None when `version` is a text we have and `sha256` the hash of one of its languages; else the field
    that is wrong and what is accepted."""
    of_version = [t for t in texts if t.version == version]
    if not of_version:
        known = ", ".join(sorted({t.version for t in texts})) or "none"
        return "consent_text_version", f"unknown consent text version; known versions: {known}"
    if sha256 not in {t.sha256 for t in of_version}:
        return "consent_text_sha256", (f"is not the SHA-256 of consent text {version} "
                                       f"({', '.join(f'{t.language}: {t.sha256}' for t in of_version)})")
    return None


def install_reference_texts(data_dir: DataDir) -> None:
    """Our published texts into the data dir's config (the demo, a new installation); never overwrites."""
    target = folder(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(REFERENCE_TEXTS.glob("*.md")):
        if not (target / source.name).exists():
            shutil.copyfile(source, target / source.name)
