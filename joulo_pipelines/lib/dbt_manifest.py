"""Keep dbt's manifest current outside `dagster dev`, which parses it on its own."""

from __future__ import annotations

import subprocess
from pathlib import Path

from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR, REFERENCE_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def _newest_source_mtime() -> float:
    files = [p for root in (DBT_PROJECT_DIR, REFERENCE_DIR) for p in root.rglob("*")
             if p.is_file() and p.suffix in {".sql", ".yml", ".yaml", ".csv"} and "target" not in p.parts]
    return max((p.stat().st_mtime for p in files), default=0.0)


def ensure_manifest(force: bool = False) -> Path:
    if force or not MANIFEST.exists() or MANIFEST.stat().st_mtime < _newest_source_mtime():
        subprocess.run(
            [str(DBT_EXECUTABLE), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
             str(DBT_PROJECT_DIR)],
            check=True,
        )
    return MANIFEST
