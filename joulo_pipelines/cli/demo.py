"""`joulo demo`: the demo partners' 2026 file drops generated, ingested and run through every stage, as a
person would with the other commands."""

from __future__ import annotations

import argparse
import os

from joulo_pipelines.cli import console, ingest, payouts, registration, reports, warehouse
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter

DEMO_AS_OF = "2027-01-15"


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="generate the demo partners' 2026 file drops, ingest and run 2026")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--scale", type=float, default=1.0,
                      help="customers per partner times SCALE (at least 25 each); 0.06 is a world of ~80 that "
                           "runs in minutes")
    demo.set_defaults(func=lambda args, data_dir: run_demo(data_dir, args.seed, args.scale), sets_clock=True)


def run_demo(data_dir: DataDir, seed: int, scale: float = 1.0) -> int:
    from joulo_pipelines.lib.demo.world import generate_demo

    # The demo's date stays the data dir's clock: later commands and `make ui` run on it too.
    as_of = os.environ.get("JOULO_AS_OF", DEMO_AS_OF)
    clock.keep(data_dir, as_of)
    console.say(clock.describe())
    print(f"demo: writing partner file drops to {data_dir.inbox} (seed {seed}, scale {scale:g}, as of {as_of})")
    generate_demo(data_dir, seed=seed, scale=scale)
    if ingest.ingest(data_dir, ["files"], None) != 0:
        return 1
    for number in range(1, 5):
        if warehouse.run_quarter(Quarter(2026, number)) != 0:
            return 1
    if registration.rev_demo(data_dir) != 0:
        return 1
    from joulo_pipelines.lib.partners import load_registry

    # Only issued units are paid: Q1-Q3, whose results the register gave; Q4 is still a draft booking.
    print(f"\npayouts of the issued quarters, prepared by {payouts.DEMO_PREPARER} and approved by "
          f"{payouts.DEMO_APPROVER} (exports/<quarter>/payouts/<partner>/ under {data_dir.exports}):")
    if payouts.approve_quarters(load_registry(data_dir.partners_file).ids,
                                [Quarter(2026, number) for number in range(1, 4)]) != 0:
        return 1
    print("\npartner reports, rebuilt with the approved payouts (open index.html in a browser):")
    if reports.rebuild_quarters([Quarter(2026, number) for number in range(1, 5)]) != 0:
        return 1
    warehouse.status(data_dir)
    print(f"\nwarehouse:   {data_dir.warehouse}  (schemas staging, intermediate, marts)")
    print(f"landing:     {data_dir.landing}  (raw/ original bytes, <partner>/<dataset>/ typed Parquet)")
    print(f"quarantine:  {data_dir.quarantine}  (<sha256>.errors.csv per file with bad rows)")
    print(f"reports:     {data_dir.exports}/<YYYY>-Q<n>/reports/<partner>/  (index.html, year.html; statements in "
          "the dashboard, or as files with `joulo reports <quarter> --partner <id>`)")
    print(f"dagster:     {os.environ['DAGSTER_HOME']}  (`make ui` shows these runs)")
    return 0
