"""The house rules of ARCHITECTURE.md that imports can show (`lib/` never imports Dagster, `defs/` never the
CLI, connectors know protocols, not rules), as import-linter contracts in pyproject.toml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from joulo_pipelines.lib.paths import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> tuple[int, str, list[str]]:
    """lint-imports over the joulo_pipelines package under `root` with root's pyproject.toml: exit code,
    output, and the names of the broken contracts."""
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=root, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(root), "COLUMNS": "400"})  # one line per contract in the summary
    broken = re.findall(r"^(.+) BROKEN\b", result.stdout, re.MULTILINE)  # "<name> BROKEN (1 ignored import)"
    return result.returncode, result.stdout + result.stderr, broken


def test_every_import_contract_holds():
    code, output, broken = lint_imports(REPO_ROOT)
    assert code == 0, f"broken import contracts: {broken}\n{output}"
    assert "0 broken" in output


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("lib/clock.py", "import dagster", "lib/ neither imports nor drives Dagster: no dagster, no defs/, no CLI"),
    ("lib/quarters.py", "from joulo_pipelines.cli import runner",
     "lib/ neither imports nor drives Dagster: no dagster, no defs/, no CLI"),
    ("defs/pools.py", "from joulo_pipelines.cli import runner",
     "defs/ wires lib/ into Dagster and never reaches into the CLI"),
    ("lib/ocpp_gateway/frames.py", "from joulo_pipelines.lib.registration import booking",
     "connectors (OCPI, OCPP gateway, partner API) know protocols, not rules"),
])
def test_an_import_against_a_house_rule_breaks_its_contract(tmp_path, module, line, contract):
    shutil.copytree(REPO_ROOT / "joulo_pipelines", tmp_path / "joulo_pipelines",
                    ignore=shutil.ignore_patterns("__pycache__", "*.j2", "*.xsd"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "joulo_pipelines" / module).open("a") as source:
        source.write(f"\n{line}\n")

    code, output, broken = lint_imports(tmp_path)

    assert code == 1, output
    assert contract in broken, output
