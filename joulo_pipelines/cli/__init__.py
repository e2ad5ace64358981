"""`joulo`: thin entry points over the same Dagster definitions the UI and sensors use."""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable

from joulo_pipelines.cli import (
    api,
    benchmark,
    console,
    demo,
    eligibility,
    mandates,
    mid,
    ocpp,
    payouts,
    registration,
    reports,
    verification,
    warehouse,
)
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.paths import DataDir, keep_private

# A module per command group: `register` adds its subcommands, each with `set_defaults(func=...)`, the
# function that runs it, called with the parsed arguments and the data dir. `joulo --help` lists them in
# this order. The modules import what their commands need when they run: `joulo status` does not pay for
# the OCPP gateway.
COMMAND_GROUPS = (demo, warehouse, eligibility, mid, mandates, benchmark, ocpp, payouts, registration, verification,
                  reports, api)


# What a command raises when the input or the state of the data dir is wrong (lib/ says so with ValueError, a
# refusal with RuntimeError, a missing or unreadable file with OSError): one line and exit code 2. Anything
# else is a bug: one line saying so and exit code 1. `-v` shows the traceback of either.
EXPECTED_FAILURES = (ValueError, RuntimeError, OSError)
BUGS_AMONG_THEM = (NotImplementedError, RecursionError)


class JouloParser(argparse.ArgumentParser):
    """Every parser of `joulo`, each command's and subcommand's too (argparse makes them of the class of the
    parser they hang from): `-v` wherever it is typed, the message of an argument's own parser kept, and a
    wrong argument said in one line with exit code 2."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_defaults(command_name=self.prog)  # the innermost parser's wins: `joulo payouts approve`
        self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="show Dagster's log and the traceback of an error")

    def add_argument(self, *args, **kwargs):
        if callable(kwargs.get("type")):
            kwargs["type"] = _keeping_its_message(kwargs["type"])
        return super().add_argument(*args, **kwargs)

    def error(self, message: str):
        self.exit(console.USAGE_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _keeping_its_message(convert: Callable) -> Callable:
    """argparse replaces a converter's ValueError by "invalid <name> value": right for int or Path, but
    our parsers (Quarter.parse...) say what is accepted, so their message is kept."""

    def converted(text: str):
        try:
            return convert(text)
        except ArithmeticError:  # Decimal("x") raises InvalidOperation, which argparse does not catch
            raise ValueError(text) from None
        except ValueError as exc:
            if isinstance(convert, type):
                raise
            raise argparse.ArgumentTypeError(str(exc)) from None

    converted.__name__ = getattr(convert, "__name__", repr(convert))
    return converted


def main(argv: list[str] | None = None) -> int:
    parser = JouloParser(prog="joulo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    args = parser.parse_args(argv)
    console.verbose = getattr(args, "verbose", False)

    keep_private()
    stoppable_when_started_in_the_background()
    data_dir = DataDir.from_env().ensure()
    os.environ["JOULO_DATA_DIR"] = str(data_dir.root)
    os.environ.setdefault("DAGSTER_HOME", str(data_dir.dagster_home))
    try:
        if not getattr(args, "sets_clock", False):  # `joulo demo` sets its clock first, then says it
            console.say(clock.describe())
        return args.func(args, data_dir)
    except Exception as exc:
        if console.verbose:
            raise
        return _failed(args.command_name, exc)


def stoppable_when_started_in_the_background() -> None:
    """Ctrl-C and SIGTERM stop a command however it was started. A shell starts a background job (`joulo run
    &` in a script, under nohup) with SIGINT ignored, and Python leaves it ignored; once a Dagster job has run
    in a process, SIGTERM has SIGINT's handler there, so it was ignored too, and in every process started from
    it afterwards (an ignored signal stays ignored in a child)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _failed(command: str, exc: Exception) -> int:
    if isinstance(exc, EXPECTED_FAILURES) and not isinstance(exc, BUGS_AMONG_THEM):
        console.say(f"{command}: {exc}", "red")
        return console.USAGE_ERROR
    console.say(f"{command}: {type(exc).__name__}: {exc} (a bug: run it again with -v to see where)", "red")
    return 1
