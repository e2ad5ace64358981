"""dbt builds forked from a process that has dbt imported, instead of a new interpreter per build.

A new dbt process spends ~2.5-3 s of CPU before it reads the project: importing dbt and its adapter (and
collecting the garbage of that import). A process that builds several quarters (`joulo demo`, each test
worker) pays it every time. So the warehouse asset starts, once per process, a server that imports dbt and
then forks a child per build; dagster-dbt runs `joulo-dbt` (`client`), which hands the server its arguments,
environment, working dir and stdin/stdout/stderr, and exits with the build's exit code. dagster-dbt sees an
ordinary dbt process: the same arguments, the same JSON log lines on its stdout.

Lifetimes: the server exits when the process that started it is gone (it checks every second); a build
dies with its `joulo-dbt` (the server kills it when the client's connection closes), and `joulo-dbt`
with the process that started it (lib/parent_death.py), as dbt itself did before.
Signals sent to `joulo-dbt` (dagster-dbt's SIGINT when a run is cancelled) are passed on to the build.

Only the standard library at the top: `joulo-dbt` starts for every build and must stay light.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from joulo_pipelines.lib.parent_death import die_with_parent

ADDRESS_ENV = "JOULO_DBT_FORKSERVER"  # "<pid of the process that owns the server>:<socket path>"
CLIENT = Path(sys.executable).with_name("joulo-dbt")
# The modules a build needs, imported once by the server (dbt imports the rest of itself from these).
PRELOAD = ("dbt.cli.main", "dbt.adapters.duckdb.impl", "dbt.task.build", "joulo_pipelines.lib.dbt_dies_with_parent")
_MESSAGE_BYTES = 1 << 20  # a request: arguments and environment as JSON
_SOCKET_PATH_BYTES = 107  # Linux's limit for a Unix socket's path
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
log = logging.getLogger(__name__)

# --- The process that runs builds (the warehouse asset) -----------------------------------------------------
_lock = threading.Lock()
_server: subprocess.Popen | None = None
_folder: str | None = None


def environment() -> dict[str, str]:
    """The variable that points this process's builds at its server, started here on first use; none
    (each build then a dbt process of its own, as without the server) where the server cannot start."""
    global _server, _folder
    with _lock:
        if _server is not None and _server.poll() is not None:  # it died: start another
            shutil.rmtree(_folder, ignore_errors=True)
            _server = _folder = None
        if _server is None:
            _folder = tempfile.mkdtemp(prefix="joulo-dbt-")
            _server = _start(_socket(_folder))
            if _server is None:
                shutil.rmtree(_folder, ignore_errors=True)
                _folder = None
                return {}
            atexit.unregister(stop)
            atexit.register(stop)
        return {ADDRESS_ENV: f"{os.getpid()}:{_socket(_folder)}"}


def _start(path: str) -> subprocess.Popen | None:
    if len(os.fsencode(path)) > _SOCKET_PATH_BYTES:
        log.warning("dbt runs without its fork server: the temp dir's path is too long for a socket (%s)", path)
        return None
    # In a session of its own: a Ctrl-C at the terminal reaches the build once, from joulo-dbt.
    server = subprocess.Popen([sys.executable, "-m", __name__, path, str(os.getpid())],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True)
    ready = server.stdout.readline()  # written once it listens; nothing (EOF) if it failed to start
    server.stdout.close()
    if ready == b"ready\n":
        return server
    log.warning("dbt runs without its fork server: it did not start (exit code %s; its error is above)",
                server.wait())
    return None


def stop() -> None:
    """Stops this process's server (at exit, or before a check that nothing is left running)."""
    global _server, _folder
    with _lock:
        if _server is not None:
            _server.terminate()
            _server.wait()
            shutil.rmtree(_folder, ignore_errors=True)
        _server = _folder = None


def _socket(folder: str) -> str:
    return os.path.join(folder, "socket")


# --- joulo-dbt ---------------------------------------------------------------------------------------------
def client() -> None:
    """`joulo-dbt`: dbt's command line, built by the server of the process that started this one. Without
    one (the variable unset, or set by a process other than this one's parent), dbt runs here as usual."""
    owner, _, path = os.environ.get(ADDRESS_ENV, "").partition(":")
    if not owner or int(owner) != os.getppid():
        _dbt_here()
    die_with_parent(int(owner))
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        connection.connect(path)
    except OSError:  # the server is gone (its owner is ending): build here
        _dbt_here()
    request = {"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    for number in FORWARDED_SIGNALS:
        signal.signal(number, lambda number, frame: connection.send(b"%d" % number))
    reply = connection.recv(64)
    if not reply:
        sys.exit("joulo-dbt: the dbt fork server's handler of this build ended before the build did")
    sys.exit(int(reply))


def _dbt_here() -> None:
    from dbt.cli.main import cli

    sys.exit(cli())


# --- The server --------------------------------------------------------------------------------------------
def serve(path: str, owner: int) -> None:
    """Imports dbt, then forks a handler per connection until the process that started it is gone."""
    for module in PRELOAD:
        importlib.import_module(module)
    gc.freeze()  # what the import made lives as long as the server: no build's collection walks it again
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    handlers: set[int] = set()
    signal.signal(signal.SIGTERM, _stop_serving)
    try:
        while os.getppid() == owner:
            if select.select([listener], [], [], 1.0)[0]:
                connection, _ = listener.accept()
                handler = os.fork()
                if handler == 0:
                    listener.close()
                    _handle(connection)
                handlers.add(handler)
                connection.close()
            # Reaped by waiting, not by the kernel: a build's CPU then counts as this process's children's,
            # and this process's as its owner's (`joulo bench` reports it).
            handlers -= {handler for handler in handlers if os.waitpid(handler, os.WNOHANG)[0]}
    finally:
        for handler in handlers:  # a build still running ends with its handler (lib/dbt_dies_with_parent.py)
            with contextlib.suppress(ProcessLookupError):
                os.kill(handler, signal.SIGTERM)
            os.waitpid(handler, 0)
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _stop_serving(number, frame) -> None:
    raise SystemExit(0)


def _handle(connection: socket.socket) -> None:
    """In a child of the server: runs one build in a child of its own, passes the client's signals on, kills
    the build if the client goes away, and sends the client the build's exit code."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the build's, as in a new process; this one's, to die
        message, fds, _, _ = socket.recv_fds(connection, _MESSAGE_BYTES, 3)
        build = os.fork()
        if build == 0:
            connection.close()
            _build(json.loads(message), fds)
        for fd in fds:
            os.close(fd)
        build_ended = os.pidfd_open(build)
        while select.select([connection, build_ended], [], [])[0] != [build_ended]:
            note = connection.recv(64)
            if not note:  # the client is gone: so is the build
                os.kill(build, signal.SIGKILL)
                break
            os.kill(build, int(note))
        code = os.waitstatus_to_exitcode(os.waitpid(build, 0)[1])
        connection.send(b"%d" % (128 - code if code < 0 else code))  # killed by a signal: as a shell says it
    finally:
        os._exit(0)


def _build(request: dict, fds: list[int]) -> None:
    """In a child of the handler: dbt's command line, as a new dbt process would run it."""
    from dbt.cli.main import cli  # both imported by the server already

    from joulo_pipelines.lib.dbt_dies_with_parent import PARENT_PID_ENV

    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[PARENT_PID_ENV] = str(os.getppid())  # dbt dies with its handler, which ends with the client
        sys.argv = request["argv"]
        try:
            cli.main(args=sys.argv[1:], prog_name="dbt")
        except SystemExit as ended:
            code = ended.code if isinstance(ended.code, int) else int(ended.code is not None)
    finally:
        atexit._run_exitfuncs()  # as at a normal exit: dbt's and multiprocessing's clean-up
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
