"""`joulo ingest` (cli/ingest.py), `joulo run --quarter` and `joulo status`: every source landed, a quarter
built, and what the warehouse holds."""

from __future__ import annotations

import argparse
import time

from joulo_pipelines.cli import ingest, runner
from joulo_pipelines.lib.intake import inbox_not_read
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.status import (
    adjustments_by_reason,
    files_by_partner,
    files_refused,
    quarter_totals,
)
from joulo_pipelines.lib.tables import print_table


def register(commands: argparse._SubParsersAction) -> None:
    landing = commands.add_parser("ingest", help="land every source now: the inbox, closed OCPP journal segments, "
                                                 "every OCPI partner (the sensors' and schedule's jobs)")
    landing.add_argument("--source", action="append", choices=ingest.SOURCES, help="only this source (repeatable)")
    landing.add_argument("--partner", help="only this partner")
    landing.set_defaults(func=lambda args, data_dir: ingest.ingest(data_dir, args.source, args.partner))
    run = commands.add_parser("run", help="materialize every asset of one quarter partition")
    run.add_argument("--quarter", required=True, type=Quarter.parse, help="2026-Q1 or 2026-01-01")
    run.add_argument("--full-refresh", action="store_true",
                     help="rebuild the session models whole instead of only the charge points new files touched")
    run.set_defaults(func=lambda args, data_dir: run_quarter(args.quarter, args.full_refresh))
    commands.add_parser("status", help="files landed and quarantined; sessions, kWh and ERE per quarter").set_defaults(
        func=lambda args, data_dir: status(data_dir))


def run_quarter(quarter: Quarter, full_refresh: bool = False) -> int:
    from joulo_pipelines.defs.warehouse.assets import FULL_REFRESH_TAG

    started = time.monotonic()
    result = runner.execute("quarter_job", partition_key=quarter.partition_key, raise_on_error=False,
                            tags={FULL_REFRESH_TAG: "true"} if full_refresh else {})
    took = _duration(time.monotonic() - started)
    if not result.success:
        print(f"run {quarter}: FAILED after {took} (run id {result.run_id}); the failed stage above says why, "
              f"`joulo -v run --quarter {quarter}` shows Dagster's log")
        return 1
    print(f"run {quarter}: succeeded in {took} (run id {result.run_id})")
    data_dir = DataDir.from_env()
    totals = [row[1:] for row in quarter_totals(data_dir) if str(row[0]) == quarter.partition_key]
    if totals:
        print_table(["partner", "EANs", "charge points", "sessions", "kWh", "ERE (estimate)"], totals)
    folder = data_dir.exports / quarter.label
    written = ", ".join(f"{path.name}/" for path in sorted(folder.iterdir()) if path.is_dir()) if folder.exists() else ""
    print(f"outputs: {folder}/ ({written or 'nothing written'}); the warehouse {data_dir.warehouse}")
    return 0


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def status(data_dir: DataDir) -> int:
    print(f"data dir: {data_dir.root}\n")
    print_table(["partner", "files landed", "with bad rows", "rejected", "rows landed", "rows quarantined"],
                files_by_partner(data_dir))
    refused = files_refused(data_dir)
    if refused:
        print("\nFiles rejected whole (reports under quarantine/<partner>/):")
        print_table(["partner", "file", "reason"], refused)
    print("\nFreshness (when each partner's sources last delivered):")
    ingest.print_freshness(data_dir)
    not_read = inbox_not_read(data_dir)
    if not_read:
        print("\nIn the inbox but not read:")
        print_table(["entry", "why"], not_read)
    print()
    totals = [(Quarter.parse(str(q)).label, *rest) for q, *rest in quarter_totals(data_dir)]
    print_table(["quarter", "partner", "EANs", "charge points", "sessions", "kWh", "ERE (estimate)"], totals)
    adjustments = adjustments_by_reason(data_dir)
    if adjustments:
        print("\nkWh that did not count, by reason (raw delivered = kWh above + these; marts.fct_energy_adjustments):")
        print_table(["partner", "reason", "sessions", "kWh"], adjustments)
    from joulo_pipelines.lib.eligibility.report import print_eligibility
    print_eligibility(data_dir)
    return 0
