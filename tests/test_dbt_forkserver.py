"""dbt forked from the fork server (lib/dbt_forkserver.py) behaves as a dbt process of its own: the same
output and exit code, a Ctrl-C reaches it, it dies when `joulo-dbt` dies, and the server ends with the
process that started it. Every quarter build of the suite goes through it; these tests hold the edges.

A build is held mid-way by `dbt init`, which asks its first question on stdout and waits for the answer on
stdin, here a pipe the test holds open and never writes to.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from joulo_pipelines.lib import dbt_forkserver
from joulo_pipelines.lib.paths import DBT_EXECUTABLE

ENDED_SECONDS = 120  # for a process that was killed or told to stop to be gone: generous, it is not a budget


@pytest.fixture
def server():
    environment = dbt_forkserver.environment()
    process = psutil.Process(dbt_forkserver._server.pid)
    yield environment, process
    dbt_forkserver.stop()
    assert not process.is_running()
    assert not os.path.exists(environment[dbt_forkserver.ADDRESS_ENV].partition(":")[2])


def _held_build(tmp_path, command: str, environment: dict[str, str]) -> subprocess.Popen:
    """`dbt init` in an empty folder, waiting at its first question for an answer that never comes."""
    build = subprocess.Popen([command, "init"], cwd=tmp_path, env={**os.environ, **environment},
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    said = b""
    while b"Enter a name for your project" not in said:
        byte = build.stdout.read(1)
        assert byte, said.decode()  # it ended instead of asking
        said += byte
    return build


def _build_of(server_process: psutil.Process) -> psutil.Process:
    """The build the server forked (a child of the server's handler of it): there, as the client is asking."""
    [build] = [grandchild for handler in server_process.children() for grandchild in handler.children()]
    return build


def _reading_stdin(process: psutil.Process) -> None:
    """Returns once `process` waits in its read of stdin. A signal that comes after dbt asked but before the
    read began would be lost (Python acts on it only at the next interruption), and the test would hang."""
    while "pipe_read" not in Path(f"/proc/{process.pid}/wchan").read_text():
        assert process.is_running()


def _dbt_alone(tmp_path, signal_number: int) -> int:
    """The exit code of dbt as its own process, held the same way and sent the same signal."""
    folder = tmp_path / "alone"
    folder.mkdir()
    dbt = _held_build(folder, str(DBT_EXECUTABLE), {})
    _reading_stdin(psutil.Process(dbt.pid))
    dbt.send_signal(signal_number)
    return dbt.wait()


def test_the_same_output_and_exit_code_as_dbt_itself(server, tmp_path):
    environment, _ = server
    for arguments in (["--version"], ["parse", "--project-dir", "/nonexistent"]):  # dbt's logs/ in tmp_path
        alone = subprocess.run([str(DBT_EXECUTABLE), *arguments], capture_output=True, text=True, check=False,
                               cwd=tmp_path)
        forked = subprocess.run([str(dbt_forkserver.CLIENT), *arguments], capture_output=True, text=True,
                                env={**os.environ, **environment}, check=False, cwd=tmp_path)
        assert (forked.returncode, forked.stdout, forked.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert alone.returncode == 2 and "'/nonexistent' does not exist" in alone.stderr  # the second one


def test_a_build_is_a_child_of_the_server_and_dies_with_joulo_dbt(server, tmp_path):
    environment, server_process = server
    client = _held_build(tmp_path, str(dbt_forkserver.CLIENT), environment)
    build = _build_of(server_process)
    client.kill()
    client.wait()
    _, alive = psutil.wait_procs([build], timeout=ENDED_SECONDS)
    assert alive == []
    assert server_process.is_running()  # and serves the next build
    again = subprocess.run([str(dbt_forkserver.CLIENT), "--version"], capture_output=True,
                           env={**os.environ, **environment}, check=False)
    assert again.returncode == 0


def test_ctrl_c_ends_the_build_as_it_ends_dbt_itself(server, tmp_path):
    environment, server_process = server
    client = _held_build(tmp_path, str(dbt_forkserver.CLIENT), environment)
    build = _build_of(server_process)
    _reading_stdin(build)
    client.send_signal(signal.SIGINT)
    assert client.wait() == _dbt_alone(tmp_path, signal.SIGINT) != 0
    _, alive = psutil.wait_procs([build], timeout=ENDED_SECONDS)
    assert alive == []


def test_without_its_owners_server_joulo_dbt_runs_dbt_itself(server):
    environment, server_process = server
    owner, _, path = environment[dbt_forkserver.ADDRESS_ENV].partition(":")
    another_owner = {dbt_forkserver.ADDRESS_ENV: f"{int(owner) + 1}:{path}"}  # not joulo-dbt's parent
    for variables in ({}, another_owner):
        alone = subprocess.run([str(dbt_forkserver.CLIENT), "--version"], capture_output=True, text=True,
                               env={**{k: v for k, v in os.environ.items() if k != dbt_forkserver.ADDRESS_ENV},
                                    **variables}, check=False)
        assert alone.returncode == 0 and "installed:" in alone.stdout
    assert server_process.children() == []  # none of them went through the server


def test_the_server_ends_with_the_process_that_started_it():
    owner = subprocess.Popen([sys.executable, "-c", OWNER_KILLED_AFTER_STARTING_ITS_SERVER],
                             stdout=subprocess.PIPE, text=True)
    pid, address = owner.stdout.readline().split()
    owner.wait()
    _, alive = psutil.wait_procs([psutil.Process(int(pid))], timeout=ENDED_SECONDS)
    assert alive == []
    assert not os.path.exists(os.path.dirname(address.partition(":")[2]))


OWNER_KILLED_AFTER_STARTING_ITS_SERVER = """
import os
from joulo_pipelines.lib import dbt_forkserver

address = dbt_forkserver.environment()[dbt_forkserver.ADDRESS_ENV]
print(dbt_forkserver._server.pid, address, flush=True)
os._exit(0)  # no clean-up, as if killed
"""


def test_where_no_server_can_listen_each_build_is_a_dbt_process_of_its_own(tmp_path, monkeypatch, caplog):
    dbt_forkserver.stop()  # this worker's, if a quarter build started one
    too_long = tmp_path / ("x" * 100)  # for a socket's path (Linux: 107 bytes)
    too_long.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(too_long))
    assert dbt_forkserver.environment() == {}
    assert "too long for a socket" in caplog.text
    assert dbt_forkserver._server is None and list(too_long.iterdir()) == []
