"""Shared fixtures: the dbt manifest and the Dagster definitions are built once per test session; each
test that needs a data dir builds its own under tmp_path and points JOULO_DATA_DIR at it.

Also the suite's rules, for every test without it doing anything (README, Testing): each test is put in the
`slow` or `fast` tier, the developer's environment is kept out, hypothesis runs derandomized in CI, and no
process a test started may outlive the session."""

from __future__ import annotations

import contextlib
import inspect
import os
import re
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml
from hypothesis import settings as hypothesis_settings

from joulo_pipelines.cli import stoppable_when_started_in_the_background
from joulo_pipelines.lib import dbt_forkserver
from joulo_pipelines.lib.paths import DataDir

TESTS_DIR = Path(__file__).parent

# --- Tiers -------------------------------------------------------------------------------------------------
# A test is slow when it, a fixture it uses, or a helper of this folder they call (followed by name, all the
# way down) does one of these; everything else is fast. A test may say `@pytest.mark.slow` (or `fast`)
# itself, which wins.
# Run once per session, but minutes: whoever needs one is in the slow tier.
SLOW_FIXTURES = {"joulo_demo", "demo_world", "demo_rev_submitted"}
SLOW_WORK = {
    # `joulo run --quarter`, `joulo demo` or `joulo bench` (cli.main or a subprocess), or the quarter's job
    "builds a quarter": re.compile(r'"run",\s*"--quarter"|[\[,]\s*"(demo|bench)"\s*[,\]]|\brun_benchmark\('
                                   r'|"quarter_job"\)\.execute'),
    "runs dbt": re.compile(r"DBT_EXECUTABLE|\bdbt_executable\b|\[\s*\"dbt\""),
    "starts PostgreSQL": re.compile(r"\bpg_ctl\b|\binitdb\b"),
    "runs Chromium": re.compile(r"chromium", re.IGNORECASE),
    "runs a third-party server or simulator": re.compile(
        r"third_party_ocpp|ocpi-reference|REFERENCE_PYTHON|SIMULATOR\b"),
}
FAST_TEST_SECONDS = 20  # a fast test slower than this is named at the end of the run
_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*\b")
_source_cache: dict[object, str] = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds a quarter, starts Postgres, Chromium or a third-party "
                                       "server or simulator (set by tests/conftest.py)")
    config.addinivalue_line("markers", "fast: everything else; `make test-fast` runs these")
    _temp_dirs_in_memory(config)
    # The suite runs as from a terminal however it was started, as `joulo` does: a shell starts a background job
    # (`make test &`, under nohup) with SIGINT ignored, which every process the tests start inherits (dbt, its
    # fork server), and the tests of what a Ctrl-C or SIGTERM does would wait for an end that never comes.
    stoppable_when_started_in_the_background()


# --- Temp dirs in memory ---------------------------------------------------------------------------------
# Dagster's SQLite storage writes each event of a run in a connection of its own, committed and closed: a
# few thousand fsyncs per quarter run, seconds of waiting on a disk (more on a shared one) and none in
# memory. So the tests' temp dirs (their data dirs) go to the RAM disk when there is one with room; pyproject's
# tmp_path_retention_policy keeps only a failed run's.
RAM_DISK = Path("/dev/shm")
RAM_DISK_MIN_FREE = 8 * 2**30  # a whole run's data dirs, with room to spare


def _temp_dirs_in_memory(config) -> None:
    import shutil
    import tempfile

    chosen = config.option.basetemp or "TMPDIR" in os.environ  # by the developer; xdist workers inherit TMPDIR
    if chosen or not RAM_DISK.is_dir() or shutil.disk_usage(RAM_DISK).free < RAM_DISK_MIN_FREE \
            or os.statvfs(RAM_DISK).f_flag & os.ST_NOEXEC:  # where a program put there could not run
        return
    os.environ["TMPDIR"] = str(RAM_DISK)  # for the processes the tests start too (dbt, DuckDB's spill files)
    tempfile.tempdir = None  # read TMPDIR again


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("slow") or item.get_closest_marker("fast"):
            continue
        reason = _slow_because(item)
        item.add_marker(pytest.mark.slow(reason=reason) if reason else pytest.mark.fast)
    items[:] = _work_order(items)


# The modules that take longest (README, Testing), longest first: each starts first in its group, so that no
# worker is left running one of them alone at the end.
LONGEST_MODULES = ("test_operations_postgres.py", "test_eligibility_ean_claims.py",
                   "test_calendar_edges_warehouse.py", "test_rev_booking.py", "test_api_end_to_end.py")


def _work_order(items: list) -> list:
    """Modules in the order the xdist workers take them (each worker takes the next when it is free): first
    the longest that needs the demo world (its worker runs `joulo demo`, which builds it), then the slow
    modules that do not need it (the other worker's work meanwhile), then the rest of the demo world's, then
    the fast ones, short, to even out the end. Longest first within each group; a module's tests stay
    together."""
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def uses_demo_world(module_items) -> bool:
        return any(SLOW_FIXTURES.intersection(item.fixturenames) for item in module_items)

    def length(name: str) -> int:
        file = name.rsplit("/", 1)[-1]
        return LONGEST_MODULES.index(file) if file in LONGEST_MODULES else len(LONGEST_MODULES)

    demo_world = sorted((name for name, module_items in modules.items() if uses_demo_world(module_items)),
                        key=length)

    def rank(name: str) -> tuple[int, int]:
        if name in demo_world:
            group = 0 if name == demo_world[0] else 2
        else:
            group = 1 if any(item.get_closest_marker("slow") for item in modules[name]) else 3
        return group, length(name)

    return [item for name in sorted(modules, key=rank) for item in modules[name]]


def _slow_because(item) -> str | None:
    used = SLOW_FIXTURES.intersection(item.fixturenames)
    if used:
        return f"uses {', '.join(sorted(used))}"
    functions = [getattr(item, "function", None)]
    for name in item.fixturenames:
        functions += [definition.func for definition in item._fixtureinfo.name2fixturedefs.get(name, ())]
    seen: set[int] = set()
    while functions:
        function = functions.pop()
        if function is None:
            continue
        function = inspect.unwrap(function)
        if id(function) in seen or not _defined_here(function):
            continue
        seen.add(id(function))
        source = _source(function)
        for what, pattern in SLOW_WORK.items():
            if pattern.search(source):
                return f"{what} ({function.__qualname__})"
        namespace = vars(inspect.getmodule(function))
        functions += [namespace[name] for name in set(_IDENTIFIER.findall(source))
                      if inspect.isfunction(namespace.get(name)) or inspect.isclass(namespace.get(name))]
    return None


def _defined_here(function) -> bool:
    try:
        return Path(inspect.getsourcefile(function) or "").is_relative_to(TESTS_DIR)
    except TypeError:
        return False


def _source(function) -> str:
    if function not in _source_cache:
        try:
            _source_cache[function] = inspect.getsource(function)
        except (OSError, TypeError):
            _source_cache[function] = ""
    return _source_cache[function]


_seconds_by_test: dict[str, float] = {}
_slow_fast_tests: list[tuple[str, float]] = []


def pytest_runtest_logreport(report):
    """Setup, call and teardown added up (under xdist this runs in the controller, with every worker's)."""
    if "fast" not in report.keywords:
        return
    took = _seconds_by_test[report.nodeid] = _seconds_by_test.get(report.nodeid, 0.0) + report.duration
    if report.when == "teardown" and took > FAST_TEST_SECONDS:
        _slow_fast_tests.append((report.nodeid, took))


def pytest_terminal_summary(terminalreporter):
    if _slow_fast_tests:
        terminalreporter.section("fast tests slower than the fast tier allows")
        for nodeid, took in sorted(_slow_fast_tests, key=lambda entry: -entry[1]):
            terminalreporter.write_line(f"{took:6.1f} s  {nodeid}: mark it slow, or teach tests/conftest.py "
                                        "what makes it slow")


# --- Hypothesis: derandomized in CI (each property test's seed fixed by the test), random elsewhere; a
# failure prints the blob that reproduces it. No deadline: a loaded machine is not a failure.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
hypothesis_settings.register_profile("dev", print_blob=True, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


def pytest_report_header(config):
    profile = hypothesis_settings.get_current_profile_name()
    seed = ("derandomized: each test's seed is derived from the test itself, the same on every run"
            if hypothesis_settings.default.derandomize else
            "random seeds: a failure prints @reproduce_failure; `--hypothesis-seed=N` fixes one")
    return f"hypothesis profile {profile!r} ({seed})"


# --- The developer's shell stays out -----------------------------------------------------------------------
CLEARED_ENV = re.compile(r"^(DAGSTER_PG_|JOULO_SMTP_)|^JOULO_AS_OF$")


@pytest.fixture(scope="session", autouse=True)
def _clean_environment(tmp_path_factory):
    """No Postgres, SMTP or as-of date from the developer's shell (tests that need one set it), and this
    worker's own data dir for code that reads JOULO_DATA_DIR without a fixture having set it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in [name for name in os.environ if CLEARED_ENV.search(name)]:
            monkeypatch.delenv(name)
        default = tmp_path_factory.mktemp("default_data_dir")
        monkeypatch.setenv("JOULO_DATA_DIR", str(default))
        monkeypatch.setenv("DAGSTER_HOME", str(default / "dagster_home"))
        yield


# --- No process outlives the suite -------------------------------------------------------------------------
# Python's own helpers that end with their parent, not processes a test started.
_PYTHON_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
PROCESS_GRACE_SECONDS = 30  # for a process told to stop to finish stopping


@pytest.fixture(autouse=True)
def _no_current_dagster_instance():
    """Each test starts with no "current" Dagster instance. `with instance:` makes an instance current (a
    context variable that Definitions read when they resolve); one that a test or a Dagster test utility left
    current after the instance went away made a later test of the same worker fail with "Attempted to resolve
    undefined DagsterInstance weakref" (CI: test_rev_delivery_year.py, on a worker that had run other modules)."""
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    with set_defs_state_storage(None):
        yield


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_session(_clean_environment):
    """Checked by each process that runs tests (each xdist worker for the tests it ran). Set up first, so
    torn down last: after every other fixture stopped what it started. The dbt fork server the warehouse
    asset started in this process is stopped first: it would stop at this process's exit."""
    yield
    dbt_forkserver.stop()
    children = [child for child in psutil.Process().children(recursive=True) if not _python_helper(child)]
    _, alive = psutil.wait_procs(children, timeout=PROCESS_GRACE_SECONDS)
    if alive:
        listed = "\n".join(f"  pid {process.pid}: {_command_line(process)}" for process in alive)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        pytest.fail(f"processes started by the tests were still running when they ended (now killed):\n{listed}",
                    pytrace=False)


def _python_helper(process: psutil.Process) -> bool:
    return any(helper in _command_line(process) for helper in _PYTHON_HELPERS)


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())[:300]
    except psutil.Error:  # gone in the meantime
        return "(gone)"


PARTNER_DEFAULTS = {
    "payout_model": "direct",
    "service_fee_pct": "15",
    "partner_share_pct": "5",
    "source": {"type": "files"},
}


@pytest.fixture(scope="session")
def definitions():
    from joulo_pipelines.lib.dbt_manifest import ensure_manifest

    ensure_manifest()
    from joulo_pipelines.definitions import defs

    return defs()


def make_data_dir(root: Path, partner_ids: list[str]) -> DataDir:
    data_dir = DataDir(root).ensure()
    partners = [
        {"id": pid, "name": f"{pid.title()} B.V.",
         "brand": {"display_name": pid.title(), "sender_email": f"payouts@{pid}.example"}, **PARTNER_DEFAULTS}
        for pid in partner_ids
    ]
    data_dir.partners_file.write_text(yaml.safe_dump({"partners": partners}, sort_keys=False))
    return data_dir


def drop(data_dir: DataDir, partner_id: str, name: str, content: str | bytes, mtime: str | None = None) -> Path:
    """Drop a file in a partner's inbox; `mtime` (ISO, with offset) is when the partner delivered it."""
    from datetime import datetime

    target = data_dir.inbox / partner_id / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    if mtime:
        stamp = datetime.fromisoformat(mtime).timestamp()
        os.utime(target, (stamp, stamp))
    return target


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> DataDir:
    """A fresh data dir with partners alpha and beta; JOULO_DATA_DIR and DAGSTER_HOME point into it."""
    return _point_env_at(tmp_path / "data", monkeypatch)


@pytest.fixture(scope="module")
def module_data_dir(tmp_path_factory):
    """The same as data_dir, shared by the tests of one module (for an expensive built warehouse)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _point_env_at(tmp_path_factory.mktemp("module") / "data", monkeypatch)


def _point_env_at(root: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    monkeypatch.setenv("JOULO_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
    return make_data_dir(root, ["alpha", "beta"])


@dataclass(frozen=True)
class DemoRun:
    """What `joulo demo` left: its data dir, its exit code and what it printed."""

    root: Path
    code: int
    printed: str


@pytest.fixture(scope="session")
def joulo_demo(tmp_path_factory, definitions) -> DemoRun:
    """`joulo demo --scale 0.06` run once per test run in an empty data dir, as a person runs it. Under xdist
    the first worker to need it (or `demo_world`) runs it and the others wait for it (a file lock in the
    run's shared temp dir). Read-only, like the demo world it leaves on its way."""
    from filelock import FileLock

    shared = _run_dir(tmp_path_factory)
    folder = shared / "joulo_demo"
    root, printed, code = folder / "data", folder / "stdout.txt", folder / "exit_code"
    with FileLock(shared / "joulo_demo.lock"):
        if not code.exists():  # written last: a run that stopped half-way is run again
            import shutil
            from unittest import mock

            from joulo_pipelines import cli
            from joulo_pipelines.cli import registration
            from joulo_pipelines.lib.registration import late_drop

            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(shared / "demo_world", ignore_errors=True)
            shutil.rmtree(shared / "demo_rev_submitted", ignore_errors=True)
            folder.mkdir()
            rev_demo = registration.rev_demo

            def demo_world_then_rev_demo(data_dir: DataDir) -> int:
                # The demo world is this data dir once the four quarters are built, before the demo's REV
                # story (submissions, a late file) and its payouts change it: the demo builds it only once.
                shutil.copytree(data_dir.root, _demo_world_root(shared), symlinks=True)
                return rev_demo(data_dir)

            drop_late_sessions = late_drop.drop_late_sessions

            def rev_submitted_then_late_data(data_dir: DataDir, quarter):
                # The same story's state before its late file, kept for the tests of what late data changes.
                shutil.copytree(data_dir.root, _rev_submitted_root(shared), symlinks=True)
                return drop_late_sessions(data_dir, quarter)

            # patch.dict gives the whole environment back afterwards (the demo keeps its clock in its data dir).
            env = {"JOULO_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "dagster_home")}
            with mock.patch.dict(os.environ, env), pytest.MonkeyPatch.context() as monkeypatch, \
                    printed.open("w") as out:
                os.environ.pop("JOULO_AS_OF", None)  # the demo pins its own
                monkeypatch.setattr(registration, "rev_demo", demo_world_then_rev_demo)
                monkeypatch.setattr(late_drop, "drop_late_sessions", rev_submitted_then_late_data)
                monkeypatch.setattr("sys.stdout", out)
                exit_code = cli.main(["demo", "--scale", "0.06"])
            code.write_text(str(exit_code))
    return DemoRun(root, int(code.read_text()), printed.read_text())


@pytest.fixture(scope="session")
def demo_world(joulo_demo, tmp_path_factory) -> DataDir:
    """A small demo world (~80 customers, all of 2026) ingested and built for 2026-Q1..Q4, once per test
    run: the data dir of `joulo_demo` when its quarters were built. Read-only: a test that changes data uses
    `demo_world_copy`."""
    root = _demo_world_root(_run_dir(tmp_path_factory))
    assert root.exists(), f"`joulo demo` stopped (exit code {joulo_demo.code}) before its quarters were " \
                          f"built; it printed:\n{joulo_demo.printed[-3000:]}"
    return DataDir(root)


def _run_dir(tmp_path_factory) -> Path:
    """The temp dir of this test run that every xdist worker sees (each has its own below it)."""
    shared = tmp_path_factory.getbasetemp()
    return shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared


def _demo_world_root(run_dir: Path) -> Path:
    return run_dir / "demo_world" / "data"


def _rev_submitted_root(run_dir: Path) -> Path:
    return run_dir / "demo_rev_submitted" / "data"


@pytest.fixture(scope="session")
def demo_rev_submitted(joulo_demo, tmp_path_factory) -> DataDir:
    """The data dir of `joulo demo` in its REV story when 2026-Q1..Q3 were submitted, approved and issued by
    the register, just before the late Q1 file arrived (`joulo_demo` is what came after). Read-only."""
    root = _rev_submitted_root(_run_dir(tmp_path_factory))
    assert root.exists(), f"`joulo demo` stopped (exit code {joulo_demo.code}) before its late data; it " \
                          f"printed:\n{joulo_demo.printed[-3000:]}"
    return DataDir(root)


@pytest.fixture
def in_demo_world(demo_world, monkeypatch) -> DataDir:
    """The shared demo world, with JOULO_DATA_DIR and DAGSTER_HOME pointing at it for this test."""
    _point_env_at_existing(demo_world.root, monkeypatch)
    return demo_world


@pytest.fixture
def demo_world_copy(demo_world, tmp_path, monkeypatch) -> DataDir:
    """A private copy of the demo world that a test may change; the env points at the copy."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(demo_world.root, root, symlinks=True)
    _point_env_at_existing(root, monkeypatch)
    return DataDir(root)


def _point_env_at_existing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOULO_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch.setenv("JOULO_AS_OF", "2027-01-15")
