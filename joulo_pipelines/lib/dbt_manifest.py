"""Keep dbt's manifest current outside `dagster dev`, which parses it on its own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR, REFERENCE_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PARTIAL_PARSE = MANIFEST.with_name("partial_parse.msgpack")  # dbt's record of its parse, for the next one


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


def seed_partial_parse(target: Path) -> None:
    """A dbt target's first build starts from the project's parse, when there is one: dbt reuses it if
    nothing it depends on changed (the warehouse's path among them). Copied here rather than by dagster-dbt,
    whose copy keeps the project file's mode, where a data dir's files are private (paths.keep_private)."""
    own = target / PARTIAL_PARSE.name
    if PARTIAL_PARSE.exists() and not own.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PARTIAL_PARSE, own)


def describe_dbt_test(node: dict) -> str:
    """A sentence for one dbt test of the manifest (the Dagster check's description, the internal controls'
    row): its description, else what its generic test and arguments say, else the leading comment of a
    singular test's SQL."""
    meta = node.get("test_metadata") or {}
    kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k != "model"}
    if node.get("description"):
        text = node["description"]
    elif meta:
        arguments = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                              for k, v in sorted(kwargs.items()))
        text = f"dbt {meta['name']} ({arguments})"
    else:
        comment = re.findall(r"^\s*--\s?(.*)$", node.get("raw_code", "").split("\nselect", 1)[0], re.MULTILINE)
        text = " ".join(comment) or "dbt singular test"
    return text.strip()
