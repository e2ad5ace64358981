"""Keep dbt's manifest current outside `dagster dev`, which parses it on its own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from joulo_pipelines.lib.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR, REFERENCE_DIR, SOURCE_CHECKOUT, DataDir

PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's record of its parse, for the next one


def target_dir() -> Path:
    """Where dbt's parse of the project goes, the manifest the definitions are built from: beside the project in
    a source checkout (dbt's own commands, `make ui` and every data dir of the test suite share it); in the data
    dir's dbt target for an installed package, whose folder is not ours to write."""
    return DBT_PROJECT_DIR / "target" if SOURCE_CHECKOUT else DataDir.from_env().dbt_target


def manifest_path() -> Path:
    return target_dir() / "manifest.json"


def _newest_source_mtime() -> float:
    files = [p for root in (DBT_PROJECT_DIR, REFERENCE_DIR) for p in root.rglob("*")
             if p.is_file() and p.suffix in {".sql", ".yml", ".yaml", ".csv"} and "target" not in p.parts]
    return max((p.stat().st_mtime for p in files), default=0.0)


def ensure_manifest(force: bool = False) -> Path:
    target, manifest = target_dir(), manifest_path()
    if force or not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        subprocess.run(
            [str(DBT_EXECUTABLE), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
             str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target)],
            check=True,
        )
    return manifest


def seed_partial_parse(target: Path) -> None:
    """A dbt target's first build starts from the project's parse, when there is one: dbt reuses it if
    nothing it depends on changed (the warehouse's path among them). Copied here rather than by dagster-dbt,
    whose copy keeps the project file's mode, where a data dir's files are private (paths.keep_private)."""
    parse, own = target_dir() / PARTIAL_PARSE, target / PARTIAL_PARSE
    if parse.exists() and not own.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parse, own)


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
