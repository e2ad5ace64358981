"""Where everything lives: one data dir (JOULO_DATA_DIR, default ./data) and the package's own files."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# The dbt project, the reference data and the Dagster instance's config are the package's files, so an installed
# wheel has them (pyproject.toml's package-data). In a source checkout they are links to the repository's
# dbt_project/, data/reference/ and deploy/, where dbt's own commands, `make` and `dg` find them too.
DBT_PROJECT_DIR = PACKAGE_DIR / "dbt_project"
REFERENCE_DIR = PACKAGE_DIR / "data" / "reference"
DEPLOY_DIR = PACKAGE_DIR / "deploy"
REPO_ROOT = PACKAGE_DIR.parent
# An installed package's folder is no place to write: what a source checkout keeps beside the dbt project (its
# parse) goes to the data dir instead (dbt_manifest.target_dir).
SOURCE_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file()
# The data dir holds names, emails and IBANs (warehouse, landing, quarantine, exports, journal, API store):
# what a run creates there is its user's alone, folders 0700 and files 0600.
PRIVATE_UMASK = 0o077


def keep_private() -> None:
    """Make every file and folder this process creates from now on private to its user, and those of the
    processes it starts (dbt, workers), which inherit the umask. One setting at each entry point (the
    `joulo` CLI, which also serves the API and the OCPP gateway, and the Dagster code location) covers
    every writer, DuckDB's and dbt's included, where a mode per open() would miss the ones we do not call."""
    os.umask(PRIVATE_UMASK)


Written = TypeVar("Written")


def replace_atomically(target: Path, write: Callable[[Path], Written], *, durable: bool = False) -> Written:
    """Write `target` so that a reader (or a crash) sees the old file or the new one, never half of it: `write`
    fills a temporary file beside it (with Python, pyarrow, a DuckDB COPY, a copy by the kernel), which then
    takes its place by a rename. The temporary name is unique per process and thread: an intake lands
    partners side by side in threads, and two may land the same bytes. `durable` also waits until the file and
    its name are on disk (what the OCPP journal and the credentials promise). Returns what `write` returns."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        written = write(temporary)
        if durable:
            fsync(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    if durable:
        fsync(target.parent)
    return written


def write_atomically(target: Path, content: bytes, *, durable: bool = False) -> None:
    """replace_atomically with these bytes, in a file private to its user whatever the umask (PRIVATE_UMASK)."""

    def write(temporary: Path) -> None:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            handle.write(content)

    replace_atomically(target, write, durable=durable)


def write_if_changed(target: Path, content: bytes) -> bool:
    """write_atomically, unless the file holds these bytes already: a rerun whose figures did not change (a
    late file that touched other customers) keeps the file's bytes and its time, so whoever syncs or watches
    the folder sees no change. Whether it wrote."""
    if target.exists() and target.stat().st_size == len(content) and target.read_bytes() == content:
        return False
    write_atomically(target, content)
    return True


def fsync(path: Path) -> None:
    """Wait until a file's bytes, or a folder's names, are on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    def clock_file(self) -> Path:
        """The data dir's own as-of date (lib/clock.py), kept by `joulo demo`."""
        return self.config / "as_of"

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

    @property
    def dbt_target(self) -> Path:
        """dbt's artifacts of this warehouse's builds, kept between them for dbt's partial parsing."""
        return self.root / "dbt_target"

    def ensure(self) -> "DataDir":
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Also a data dir made before this rule or by another process: nothing below it is others' to read.
        self.root.chmod(0o700)
        for folder in (self.config, self.inbox, self.landing, self.raw, self.quarantine, self.exports):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def export_env(self) -> None:
        """dbt runs as a subprocess and finds the warehouse and landing zone through these variables."""
        os.environ["JOULO_DATA_DIR"] = str(self.root)
        os.environ["JOULO_REFERENCE_DIR"] = str(REFERENCE_DIR)

# dbt from the same environment as this Python, whether or not the virtualenv is activated.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
