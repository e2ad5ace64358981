"""The built wheel, not the editable install: every file the code loads from beside itself (templates, XSDs, the
dbt project, the reference data) is in it, and an install of it alone finds them and runs the demo's pipeline.
An editable install reads the source tree, so only a real wheel shows a file that package-data leaves out."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "joulo_pipelines"
# dbt's own output in a source checkout, never package data (an installed package writes it to the data dir).
NOT_PACKAGED = ("__pycache__", "target", "logs")


def _package_data_in_the_tree() -> set[str]:
    """Every file under the package that is not Python source, as its path in the wheel; through the links to
    the repository's dbt project, reference data and deploy/, with the dbt project's Python models."""
    found = set()
    for folder, dirs, files in os.walk(REPO / PACKAGE, followlinks=True):
        dirs[:] = [name for name in dirs if name not in NOT_PACKAGED and not name.startswith(".")]
        inside = Path(folder).relative_to(REPO)
        found |= {(inside / name).as_posix() for name in files
                  if not name.startswith(".") and (Path(name).suffix not in (".py", ".pyc")
                                                   or "dbt_project" in inside.parts)}
    return found


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built as pip builds it for a user (its build-system, isolated), from a copy: an in-tree build leaves
    # build/ and *.egg-info in the work tree, under other tests' feet. The copy follows the package's links.
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copytree(REPO / PACKAGE, source / PACKAGE, ignore=shutil.ignore_patterns(*NOT_PACKAGED))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(source)], check=True)
    return next(out.glob(f"{PACKAGE}-*.whl"))


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """The wheel alone installed in a folder of its own; its dependencies come from this environment."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True)
    return target


def _installed(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A command with the wheel's copy first on the path, run from elsewhere than the repo, so the work tree
    cannot be imported instead."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          env={"PATH": os.pathsep.join([str(site / "bin"), str(Path(sys.executable).parent),
                                                        "/usr/bin", "/bin"]),
                               "PYTHONPATH": str(site), "HOME": str(cwd), "JOULO_DATA_DIR": str(cwd / "data")})


def test_the_wheel_holds_every_file_the_package_loads(wheel):
    expected = _package_data_in_the_tree()
    assert {".xsd", ".j2", ".sql", ".csv"} <= {Path(name).suffix for name in expected}
    assert f"{PACKAGE}/dbt_project/dbt_project.yml" in expected
    assert f"{PACKAGE}/data/reference/mid_meters.csv" in expected
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert expected - in_wheel == set()
    assert not [name for name in in_wheel if set(Path(name).parts) & set(NOT_PACKAGED)]


def test_the_installed_wheel_loads_its_templates_and_schemas(site, tmp_path):
    script = """
import sys, xmlschema
import joulo_pipelines
from joulo_pipelines.lib import templating
from joulo_pipelines.lib.dashboard import routes
from joulo_pipelines.lib.eligibility import mandate_document, mid_scan
from joulo_pipelines.lib.payouts import emails
from joulo_pipelines.lib.registration import rev_adapter
from joulo_pipelines.lib.reports import environment as reports

print(joulo_pipelines.__file__)
loaded = 0
for env in (templating.environment(mid_scan.TEMPLATES), templating.environment(mandate_document.TEMPLATES),
            emails._environment, reports.environment, routes.environment):
    for name in env.list_templates():
        env.get_template(name)
        loaded += 1
for schema, _, _ in rev_adapter.FILES.values():
    xmlschema.XMLSchema(str(rev_adapter.SCHEMA_DIR / schema))
print(loaded)
"""
    run = _installed(site, sys.executable, "-c", script, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    where, loaded = run.stdout.split()
    assert Path(where).is_relative_to(site)
    templates = {name for name in _package_data_in_the_tree() if name.endswith(".j2")}
    assert int(loaded) >= len(templates)


def test_the_installed_wheel_runs_the_demo_quarter_from_anywhere(site, tmp_path):
    """`joulo demo` is these steps for four quarters and the register's answers; one quarter of the smallest
    demo world shows what only an install can get wrong: the dbt project, its seeds (the MID register, the ERE
    parameters), the Dagster instance's config and the defs folder found without the repository, and dbt's parse
    written to the data dir, not into the installed package."""
    before = _files(site)
    generate = ("from joulo_pipelines.lib.demo.world import generate_demo\n"
                "from joulo_pipelines.lib.paths import DataDir\n"
                "generate_demo(DataDir.from_env(), scale=0.01)")
    for command in ([sys.executable, "-c", generate], ["joulo", "ingest"], ["joulo", "run", "--quarter", "2026-Q1"]):
        run = _installed(site, *command, cwd=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
    data = tmp_path / "data"
    assert (data / "dbt_target" / "manifest.json").is_file()
    partners = {"groenstroom", "laadwerk", "voltnet"}
    assert {path.name for path in (data / "exports" / "2026-Q1" / "reports").iterdir()} == partners
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as warehouse:
        # Eligible charge points need the seeds: a meter model in the MID register, the year's ERE parameters.
        eligible = dict(warehouse.sql("select partner_id, count(*) filter (is_eligible) "
                                      "from marts.fct_charge_point_eligibility where quarter_start = '2026-01-01' "
                                      "group by all").fetchall())
    assert set(eligible) == partners and all(eligible.values())
    assert _files(site) == before


def test_the_lock_pins_every_package_the_project_needs():
    """`make install` installs with -c constraints.txt: a dependency added to pyproject.toml without `make lock`
    would be installed at whatever version is newest that day."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from lock_constraints import closure
    finally:
        sys.path.remove(str(REPO / "scripts"))
    pinned = {line.split("==")[0] for line in (REPO / "constraints.txt").read_text().splitlines()
              if line and not line.startswith("#")}
    assert set(closure(REPO / "pyproject.toml")) - pinned == set()
    assert PACKAGE.replace("_", "-") not in pinned and PACKAGE not in pinned
