"""`joulo`: thin entry points over the same Dagster definitions the UI and sensors use."""

from __future__ import annotations

import argparse
import os
import sys

from joulo_pipelines.cli import (
    api,
    benchmark,
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
from joulo_pipelines.lib.paths import DataDir, keep_private

# A module per command group: `register` adds its subcommands, each with `set_defaults(func=...)`, the
# function that runs it, called with the parsed arguments and the data dir. `joulo --help` lists them in
# this order. The modules import what their commands need when they run: `joulo status` does not pay for
# the OCPP gateway.
COMMAND_GROUPS = (demo, warehouse, eligibility, mid, mandates, benchmark, ocpp, payouts, registration, verification,
                  reports, api)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="joulo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    args = parser.parse_args(argv)

    keep_private()
    data_dir = DataDir.from_env().ensure()
    os.environ["JOULO_DATA_DIR"] = str(data_dir.root)
    os.environ.setdefault("DAGSTER_HOME", str(data_dir.dagster_home))
    try:
        return args.func(args, data_dir)
    except Exception as exc:  # the message is for a person; the traceback is in the Dagster run
        print(f"joulo {args.command}: {exc}", file=sys.stderr)
        return 1
