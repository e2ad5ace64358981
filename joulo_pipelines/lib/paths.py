"""Where everything lives: one data dir (JOULO_DATA_DIR, default ./data) and the repo's own files."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
REFERENCE_DIR = REPO_ROOT / "data" / "reference"


@dataclass(frozen=True)
class DataDir:
    root: Path

    @classmethod
    def from_env(cls) -> "DataDir":
        return cls(Path(os.environ.get("JOULO_DATA_DIR", "data")).resolve())

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def partners_file(self) -> Path:
        return self.config / "partners.yaml"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def raw(self) -> Path:
        """Original bytes of every delivered file, named by their SHA-256."""
        return self.landing / "raw"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def ensure(self) -> "DataDir":
        for folder in (self.config, self.inbox, self.landing, self.raw, self.quarantine, self.exports):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def export_env(self) -> None:
        """dbt runs as a subprocess and finds the warehouse and landing zone through these variables."""
        os.environ["JOULO_DATA_DIR"] = str(self.root)
        os.environ["JOULO_REFERENCE_DIR"] = str(REFERENCE_DIR)

# dbt from the same environment as this Python, whether or not the virtualenv is activated.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
