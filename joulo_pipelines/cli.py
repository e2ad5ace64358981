"""`joulo`: thin entry points over the same Dagster definitions the UI and sensors use."""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal
from pathlib import Path

from joulo_pipelines import runner
from joulo_pipelines.lib.intake import inbox_not_read
from joulo_pipelines.lib.paths import DataDir, keep_private
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.status import (adjustments_by_reason, files_by_partner, files_refused, format_table,
                                        quarter_totals)

DEMO_AS_OF = "2027-01-15"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="joulo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="generate the demo partners' 2026 file drops, ingest and run 2026")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--scale", type=float, default=1.0,
                      help="customers per partner times SCALE (at least 25 each); 0.06 is a world of ~80 that "
                           "runs in minutes")
    commands.add_parser("ingest", help="process the inbox once (the sensor's job, run now)")
    run = commands.add_parser("run", help="materialize every asset of one quarter partition")
    run.add_argument("--quarter", required=True, type=Quarter.parse, help="2026-Q1 or 2026-01-01")
    commands.add_parser("status", help="files landed and quarantined; sessions, kWh and ERE per quarter")
    scan = commands.add_parser("mid-scan", help="a prospect's MID scan: mid_scan.html and mid_scan.csv")
    scan.add_argument("charge_points", type=Path, help="charge_points.csv in the partner file contract's format")
    scan.add_argument("--customers", type=Path, help="customers.csv (EAN and postal code checks)")
    scan.add_argument("--sessions", type=Path, help="sessions.csv (annual kWh; else a typical year is assumed)")
    scan.add_argument("--price", type=Decimal, default=Decimal("0.45"), help="EUR per ERE (default 0.45)")
    scan.add_argument("--out", type=Path, default=Path("."), help="folder for mid_scan.html/.csv (default .)")
    scan.add_argument("--year", type=int, help="delivery year for ERE (default: this year, by the clock)")
    bench = commands.add_parser("bench", help="time every pipeline stage on generated national-scale data")
    bench.add_argument("--charge-points", type=int, default=100_000)
    bench.add_argument("--quarter", type=Quarter.parse, default=Quarter(2026, 1))
    bench.add_argument("--name", help="results file name under bench/results/ (default cp<N>-<quarter>)")
    gateway = commands.add_parser("ocpp-gateway", help="receive OCPP 1.6J/2.0.1 at ws://HOST:PORT/<partner>/<cp>")
    gateway.add_argument("--host", default="127.0.0.1")
    gateway.add_argument("--port", type=int, default=9000)
    gateway.add_argument("--segment-seconds", type=float, default=300.0, help="close a journal segment after")
    gateway.add_argument("--idle-timeout", type=float, default=900.0,
                         help="close a charge point's connection after this many silent seconds (default 900)")
    gateway.add_argument("--tls-cert", help="PEM certificate (chain): serve wss (security profile 2)")
    gateway.add_argument("--tls-key", help="PEM private key of --tls-cert")
    credentials = commands.add_parser("ocpp-credentials", help="a charge point's own OCPP password (stored hashed)")
    credentials.add_argument("action", choices=["set", "rotate"], help="set a first password, or replace it")
    credentials.add_argument("--partner", required=True)
    credentials.add_argument("--charge-point", required=True, help="the charge point identity (charge_point_ref)")
    credentials.add_argument("--stdin", action="store_true",
                             help="read the password from stdin (default: generate one and print it once)")
    ocpp_import = commands.add_parser("ocpp-import", help="import a CPMS's OCPP message log into the journal")
    ocpp_import.add_argument("file", help="JSON lines: timestamp, charge point id, OCPP-J frame")
    ocpp_import.add_argument("--partner", required=True)
    ocpp_import.add_argument("--ocpp-version", choices=["1.6", "2.0.1"], default=None,
                             help="when the log does not say (default: from the actions, else 1.6)")
    payouts = commands.add_parser("payouts", help="payouts: approve a partner's quarter")
    payout_commands = payouts.add_subparsers(dest="payouts_command", required=True)
    approve = payout_commands.add_parser("approve", help="freeze a partner's quarter in the payout ledger and write "
                                                         "its statement, SEPA file and emails")
    approve.add_argument("quarter", type=Quarter.parse, help="2026-Q1 or 2026-01-01")
    approve.add_argument("--partner", required=True)
    rev = commands.add_parser("rev", help="REV registration: submit a booking, import what the REV issued")
    rev_commands = rev.add_subparsers(dest="rev_command", required=True)
    rev_submit = rev_commands.add_parser("submit", help="record a booking as submitted in the ledger")
    rev_submit.add_argument("booking", help="2026-Q1, or 2026-S1 for a supplementary booking of 2026")
    rev_submit.add_argument("--by", help="who submitted it (default: the OS user)")
    rev_import = rev_commands.add_parser("import-result", help="import the units the REV issued (CSV or XML)")
    rev_import.add_argument("file", type=Path)
    audit = commands.add_parser("audit-pack", help="the verifier's evidence per EAN under exports/audit/<year>/")
    audit.add_argument("--year", type=int, required=True)
    audit.add_argument("--ean", action="append", default=[], help="an EAN to include (repeatable)")
    audit.add_argument("--sample", type=int, help="a seeded random sample of N booked EANs")
    audit.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    reports = commands.add_parser("reports", help="rebuild a quarter's partner reports (after approving payouts)")
    reports.add_argument("quarter", type=Quarter.parse, help="2026-Q1 or 2026-01-01")
    api = commands.add_parser("api", help="serve the partner API (enrol, revoke, status, webhooks)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api_key = commands.add_parser("api-key", help="partner API keys: create (shown once), list, revoke")
    api_key_commands = api_key.add_subparsers(dest="key_command", required=True)
    api_key_commands.add_parser("create").add_argument("--partner", required=True)
    api_key_commands.add_parser("list")
    api_key_commands.add_parser("revoke").add_argument("key_id")
    args = parser.parse_args(argv)

    keep_private()
    data_dir = DataDir.from_env().ensure()
    os.environ["JOULO_DATA_DIR"] = str(data_dir.root)
    os.environ.setdefault("DAGSTER_HOME", str(data_dir.dagster_home))
    try:
        if args.command == "demo":
            return _demo(data_dir, args.seed, args.scale)
        if args.command == "ingest":
            return _ingest()
        if args.command == "run":
            return _run(args.quarter)
        if args.command == "mid-scan":
            return _mid_scan(args)
        if args.command == "bench":
            from joulo_pipelines.benchmark import run_benchmark

            run_benchmark(args.charge_points, args.quarter, args.name)
            return 0
        if args.command == "ocpp-gateway":
            from joulo_pipelines.lib.ocpp_gateway.cli import serve_gateway

            return serve_gateway(data_dir, args.host, args.port, args.segment_seconds, args.idle_timeout,
                                 args.tls_cert, args.tls_key)
        if args.command == "ocpp-credentials":
            from joulo_pipelines.lib.ocpp_gateway.cli import set_credentials

            return set_credentials(data_dir, args.partner, args.charge_point, rotate=args.action == "rotate",
                                   from_stdin=args.stdin)
        if args.command == "ocpp-import":
            from joulo_pipelines.lib.ocpp_gateway.cli import import_log

            return import_log(data_dir, args.file, args.partner, args.ocpp_version)
        if args.command == "payouts":
            from joulo_pipelines.lib.payouts.commands import approve as approve_payouts

            return approve_payouts(runner.execute, args.quarter, args.partner)
        if args.command == "rev":
            from joulo_pipelines.lib.rev.cli import run_rev_command

            return run_rev_command(data_dir, args)
        if args.command == "api":
            from joulo_pipelines.lib.api.cli import serve

            return serve(data_dir, args.host, args.port)
        if args.command == "api-key":
            from joulo_pipelines.lib.api.cli import key_command

            return key_command(data_dir, args)
        if args.command == "reports":
            from joulo_pipelines.lib.reports.commands import rebuild

            return rebuild(runner.execute, args.quarter)
        if args.command == "audit-pack":
            from joulo_pipelines.lib.rev.cli import run_audit_pack

            return run_audit_pack(data_dir, args)
        return _status(data_dir)
    except Exception as exc:  # the message is for a person; the traceback is in the Dagster run
        print(f"joulo {args.command}: {exc}", file=sys.stderr)
        return 1


def _ingest() -> int:
    result = runner.execute("ingest_job")
    for materialization in result.asset_materializations_for_node("landed_files"):
        if materialization.asset_key.path[-1] == "files":
            meta = {k: v.value for k, v in materialization.metadata.items()}
            print(f"ingest: {meta['files_seen']} file(s) seen, {meta['files_new']} new, "
                  f"{meta['files_rejected']} rejected whole, {meta['rows_loaded']} rows landed, "
                  f"{meta['rows_quarantined']} rows quarantined")
    for entry, why in inbox_not_read(DataDir.from_env()):
        print(f"ingest: not read: inbox/{entry} {why}")
    return 0 if result.success else 1


def _run(quarter: Quarter) -> int:
    result = runner.execute("quarter_job", partition_key=quarter.partition_key)
    print(f"run {quarter}: {'succeeded' if result.success else 'FAILED'} (run id {result.run_id})")
    return 0 if result.success else 1


def _mid_scan(args: argparse.Namespace) -> int:
    from joulo_pipelines.lib.clock import today
    from joulo_pipelines.lib.mid_scan import scan_files

    year = args.year or today().year
    summary = scan_files(DataDir.from_env(), args.charge_points, args.customers, args.sessions, args.price, args.out,
                         year)
    print(f"mid-scan: {summary.total} charge points: {summary.counts['eligible']} qualify immediately, "
          f"{summary.counts['action_needed']} after an action, {summary.counts['not_eligible']} not; "
          f"written to {args.out / 'mid_scan.html'} and {args.out / 'mid_scan.csv'}")
    return 0


def _status(data_dir: DataDir) -> int:
    print(f"data dir: {data_dir.root}\n")
    print(format_table(["partner", "files landed", "with bad rows", "rejected", "rows landed", "rows quarantined"],
                       files_by_partner(data_dir)))
    refused = files_refused(data_dir)
    if refused:
        print("\nFiles rejected whole (reports under quarantine/<partner>/):")
        print(format_table(["partner", "file", "reason"], refused))
    not_read = inbox_not_read(data_dir)
    if not_read:
        print("\nIn the inbox but not read:")
        print(format_table(["entry", "why"], not_read))
    print()
    totals = [(Quarter.parse(str(q)).label, *rest) for q, *rest in quarter_totals(data_dir)]
    print(format_table(["quarter", "partner", "EANs", "charge points", "sessions", "kWh", "ERE (estimate)"], totals))
    adjustments = adjustments_by_reason(data_dir)
    if adjustments:
        print("\nkWh that did not count, by reason (raw delivered = kWh above + these; marts.fct_energy_adjustments):")
        print(format_table(["partner", "reason", "sessions", "kWh"], adjustments))
    from joulo_pipelines.lib.eligibility_report import print_eligibility
    print_eligibility(data_dir)
    return 0


def _demo(data_dir: DataDir, seed: int, scale: float = 1.0) -> int:
    from joulo_pipelines.lib.demo_data import generate_demo

    os.environ.setdefault("JOULO_AS_OF", DEMO_AS_OF)
    print(f"demo: writing partner file drops to {data_dir.inbox} (seed {seed}, scale {scale:g}, "
          f"as of {os.environ['JOULO_AS_OF']})")
    generate_demo(data_dir, seed=seed, scale=scale)
    if _ingest() != 0:
        return 1
    for number in range(1, 5):
        if _run(Quarter(2026, number)) != 0:
            return 1
    from joulo_pipelines.lib.rev.cli import rev_demo

    if rev_demo(data_dir, _ingest, _run) != 0:
        return 1
    from joulo_pipelines.lib.partners import load_registry
    from joulo_pipelines.lib.payouts.commands import approve_quarters

    print(f"\npayouts, approved by the demo (exports/<quarter>/payouts/<partner>/ under {data_dir.exports}):")
    if approve_quarters(runner.execute, load_registry(data_dir.partners_file).ids,
                        [Quarter(2026, number) for number in range(1, 5)]) != 0:
        return 1
    from joulo_pipelines.lib.reports.commands import rebuild_quarters

    print("\npartner reports, rebuilt with the approved payouts (open index.html in a browser):")
    if rebuild_quarters(runner.execute, [Quarter(2026, number) for number in range(1, 5)]) != 0:
        return 1
    _status(data_dir)
    print(f"\nwarehouse:   {data_dir.warehouse}  (schemas staging, intermediate, marts)")
    print(f"landing:     {data_dir.landing}  (raw/ original bytes, <partner>/<dataset>/ typed Parquet)")
    print(f"quarantine:  {data_dir.quarantine}  (<sha256>.errors.csv per file with bad rows)")
    print(f"reports:     {data_dir.exports}/<YYYY>-Q<n>/reports/<partner>/  (index.html, year.html, customers/)")
    print(f"dagster:     {os.environ['DAGSTER_HOME']}  (`make ui` shows these runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
