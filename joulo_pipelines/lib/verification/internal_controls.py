"""A description of our internal controls for the verifier's file (exports/verification/<year>/
internal_controls.md), generated from what the system checks, never written by hand: the asset checks of
the Dagster definitions (the caller lists them; lib/ does not import Dagster), dbt's data tests from its
manifest, and the test suite's modules and tests (read with ast, not run). A rule that is no longer
checked drops out of the description by itself."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from joulo_pipelines.lib.dbt_manifest import describe_dbt_test, manifest_path
from joulo_pipelines.lib.paths import REPO_ROOT

TESTS_DIR = REPO_ROOT / "tests"


@dataclass(frozen=True)
class AssetCheck:
    """One asset check as the Definitions hold it."""
    asset: str
    name: str
    description: str | None
    blocking: bool


def _dbt_test_descriptions(manifest: Path) -> dict[str, str]:
    """A sentence per dbt test (dbt_manifest.describe_dbt_test)."""
    if not manifest.exists():
        return {}
    return {node["name"]: describe_dbt_test(node) for node in json.loads(manifest.read_text())["nodes"].values()
            if node["resource_type"] == "test"}


def _test_modules(tests_dir: Path) -> list[tuple[str, str, list[str]]]:
    """(module, first sentence of its docstring, its tests as sentences) per tests/test_*.py."""
    modules = []
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        doc = (ast.get_docstring(tree) or "").strip()
        first = re.split(r"(?<=[.:])\s", " ".join(doc.split()), maxsplit=1)[0] if doc else ""
        tests = [node.name.removeprefix("test_").replace("_", " ") for node in tree.body
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")]
        if tests:
            modules.append((path.name, first, tests))
    return modules


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(year: int, checks: list[AssetCheck], manifest: Path | None = None, tests_dir: Path = TESTS_DIR) -> str:
    dbt_tests = _dbt_test_descriptions(manifest or manifest_path())
    lines = [
        f"# Internal controls (delivery year {year})",
        "",
        ("Generated from the code by `joulo verification <year> internal-controls` (and the Dagster asset "
         "verification/internal_controls): the checks below are the ones the pipeline runs; the tests are the "
         "ones its test suite holds."),
        "",
        "## Checks on every build (Dagster asset checks, dbt data tests among them)",
        "",
        "A blocking check stops what depends on the checked data when it fails; the others warn.",
        "",
        "| Stage | Data checked | Check | Blocking | What it guards |",
        "|---|---|---|---|---|",
    ]
    for check in sorted(checks, key=lambda c: (c.asset, c.name)):
        what = check.description or dbt_tests.get(check.name) or ""
        lines.append(f"| {check.asset.split('/')[0]} | {check.asset} | `{check.name}` | "
                     f"{'yes' if check.blocking else 'no'} | {_cell(what)} |")
    modules = _test_modules(tests_dir)
    lines += ["", "## Tests that guard the rules (pytest, tests/)", ""]
    if not modules:
        lines.append("The test suite is not shipped with this installation.")
    for module, first, tests in modules:
        lines += [f"### {module}", "", _cell(first) or "(no description)", ""]
        lines += [f"- {test}" for test in tests]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write(target: Path, year: int, checks: list[AssetCheck]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(year, checks))
    return target
