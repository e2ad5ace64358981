"""The built wheel, not the editable install: every file the code loads from beside itself (templates, XSDs)
is in it, and an install of it alone finds them. An editable install reads the source tree, so only a real
wheel shows a file that package-data leaves out."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "joulo_pipelines"


def _package_data_in_the_tree() -> set[str]:
    """Every file under the package that is not Python source, as its path in the wheel."""
    return {path.relative_to(REPO).as_posix() for path in (REPO / PACKAGE).rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built as pip builds it for a user (its build-system, isolated), from a copy: an in-tree build leaves
    # build/ and *.egg-info in the work tree, under other tests' feet.
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copytree(REPO / PACKAGE, source / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(source)], check=True)
    return next(out.glob(f"{PACKAGE}-*.whl"))


def test_the_wheel_holds_every_file_the_package_loads(wheel):
    expected = _package_data_in_the_tree()
    assert any(name.endswith(".xsd") for name in expected) and any(name.endswith(".j2") for name in expected)
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert expected - in_wheel == set()


def test_the_installed_wheel_loads_its_templates_and_schemas(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True)
    # The wheel's copy first on the path; its dependencies from this environment. Run from elsewhere than the
    # repo, so the work tree cannot be imported instead.
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
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(target)})
    assert run.returncode == 0, run.stderr
    where, loaded = run.stdout.split()
    assert Path(where).is_relative_to(target)
    templates = {name for name in _package_data_in_the_tree() if name.endswith(".j2")}
    assert int(loaded) >= len(templates)


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
