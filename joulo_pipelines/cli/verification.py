"""`joulo verification <year> ...`: the verification year from the command line (the population sent, the
verifier's sample, site visits and findings imported, corrective bookings linked, the statement recorded and
reported, the status, our internal controls, the retention check), and `joulo prune --year Y`."""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path

from joulo_pipelines.lib.paths import DataDir


def register(commands: argparse._SubParsersAction) -> None:
    verification = commands.add_parser("verification", help="the verification year: population, the verifier's "
                                                            "sample and findings, the statement, retention")
    verification.add_argument("year", type=int, help="the delivery year, e.g. 2026")
    steps = verification.add_subparsers(dest="verification_command", required=True)

    def step(name: str, help: str, func, *arguments: tuple[str, dict]) -> None:
        parser = steps.add_parser(name, help=help)
        for flags, options in arguments:
            parser.add_argument(*flags.split("|"), **options)
        parser.set_defaults(func=func)

    by = ("--by", {"help": "who did it (default: the OS user)"})
    by_required = ("--by", {"required": True, "help": "who did it"})
    step("export-population", "write the year's booked lines with lineage under exports/verification/<year>/ "
         "and record them as sent", export_population, by)
    step("import-sample", "import the verifier's sample (CSV: ean[, partner_id, location])", import_sample,
         ("file", {"type": Path}), by)
    step("import-site-visits", "import the verifier's site-visit list (CSV as the sample) and write a sheet per "
         "partner", import_site_visits, ("file", {"type": Path}), by)
    step("import-findings", "import the verifier's findings register (CSV: finding_id, ean, severity, "
         "corrective_action, due_date, status)", import_findings, ("file", {"type": Path}), by)
    step("link-booking", "link a corrective booking to the finding it corrects", link_booking,
         ("finding", {}), ("booking", {"help": "a submitted booking, e.g. 2027-Q1"}), by)
    step("record-statement", "record the verifier's statement by its code", record_statement,
         ("code", {}), by_required)
    step("reported", "record that the statement was reported to the NEa in the REV", reported, by_required)
    step("status", "where the year's verification stands", status)
    step("internal-controls", "write internal_controls.md from the checks and tests the system has",
         write_internal_controls)
    step("retention-check", "prove every file and ledger row the year's bookings rest on is still there",
         retention_check)

    prune = commands.add_parser("prune", help="delete a delivery year's raw files once its retention has ended "
                                              "(five years after its verification); refuses before")
    prune.add_argument("--year", type=int, required=True)
    prune.set_defaults(func=prune_year)


@contextmanager
def _writer(data_dir: DataDir):
    from joulo_pipelines.lib.registration.submission import ledger_writer
    from joulo_pipelines.lib.verification.store import ensure_verification

    with ledger_writer(data_dir) as con:
        ensure_verification(con)
        yield con


def export_population(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification import population, retention
    from joulo_pipelines.lib.verification.store import record_event

    with _writer(data_dir) as con:
        exported = population.export_population(con, data_dir, args.year)
        added = retention.record(con, data_dir, args.year)
        record_event(con, args.year, "population_sent", args.by, detail=f"{exported.lines} line(s)",
                     file_sha256=exported.csv_sha256)
    print(f"verification {args.year}: population of {exported.lines} booking line(s), {exported.eans} EAN(s), "
          f"{exported.kwh} kWh written to {exported.folder}; population.csv sha256 {exported.csv_sha256[:12]}...; "
          f"{added} item(s) newly kept for retention")
    return 0


def import_sample(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification.verifier_lists import import_list

    with _writer(data_dir) as con:
        count = import_list(con, args.year, "sample", args.file, args.by)
    print(f"verification {args.year}: sample of {count} EAN(s) imported from {args.file.name}; "
          f"build its audit pack with `joulo audit-pack --year {args.year}`")
    return 0


def import_site_visits(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification.site_visits import write_sheets
    from joulo_pipelines.lib.verification.verifier_lists import import_list

    with _writer(data_dir) as con:
        count = import_list(con, args.year, "site_visits", args.file, args.by)
        sheets = write_sheets(con, data_dir, args.year)
    print(f"verification {args.year}: {count} site(s) imported from {args.file.name}; "
          f"{len(sheets)} sheet(s) written: {', '.join(str(p.relative_to(data_dir.root)) for p in sheets)}")
    return 0


def import_findings(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification.findings import import_findings as import_register

    with _writer(data_dir) as con:
        count = import_register(con, args.year, args.file, args.by)
    print(f"verification {args.year}: {count} finding(s) imported from {args.file.name}")
    return 0


def link_booking(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification.findings import link_booking as link

    with _writer(data_dir) as con:
        link(con, args.year, args.finding, args.booking, args.by)
    print(f"verification {args.year}: booking {args.booking} linked to finding {args.finding}")
    return 0


def record_statement(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification.statement import record_statement as record

    with _writer(data_dir) as con:
        record(con, args.year, args.code, args.by)
    print(f"verification {args.year}: statement {args.code.strip()} recorded by {args.by}")
    return 0


def reported(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification.statement import record_reported

    with _writer(data_dir) as con:
        record_reported(con, args.year, args.by)
    print(f"verification {args.year}: statement reported to the NEa, recorded by {args.by}")
    return 0


def status(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib import clock, warehouse
    from joulo_pipelines.lib.tables import print_table
    from joulo_pipelines.lib.verification.findings import current_findings
    from joulo_pipelines.lib.verification.status import year_status

    if not data_dir.warehouse.exists():
        raise RuntimeError(f"no warehouse at {data_dir.warehouse}: ingest and run a quarter first")
    with warehouse.connect(data_dir, read_only=True) as con:
        year = year_status(con, args.year)
        findings = current_findings(con, args.year) if year.findings else []

    def when(moment) -> str:
        return f"{moment.astimezone(clock.AMSTERDAM):%Y-%m-%d %H:%M}" if moment else "not yet"

    print_table(["step", "state"], [
        ("population sent", when(year.population_sent_at)),
        ("sample received", f"{when(year.sample_received_at)} ({year.sample_eans} EAN(s))"
                            if year.sample_received_at else "not yet"),
        ("site visits", f"{year.site_visits} site(s)"),
        ("findings open", f"{year.findings_open} of {year.findings}"),
        ("statement issued", f"{year.statement_code} ({when(year.statement_issued_at)})"
                             if year.statement_issued else "not yet"),
        ("reported to the NEa", when(year.reported_at)),
    ])
    if findings:
        print("\nFindings:")
        print_table(["finding", "EAN", "severity", "status", "due", "corrective bookings"], findings)
    return 0


def write_internal_controls(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.cli import runner
    from joulo_pipelines.defs.verification.assets import asset_checks
    from joulo_pipelines.lib.verification import internal_controls, population

    checks = asset_checks(runner.definitions().get_repository_def().asset_graph)
    target = internal_controls.write(population.folder(data_dir, args.year) / "internal_controls.md", args.year,
                                     checks)
    print(f"verification {args.year}: {len(checks)} asset check(s) and the test suite described in {target}")
    return 0


def retention_check(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification import retention

    with _writer(data_dir) as con:
        checked, problems = retention.check(con, data_dir, args.year)
        allowed_from, final = retention.prune_allowed_from(con, args.year)
    if not checked:
        raise RuntimeError(f"nothing recorded for {args.year} yet: `joulo verification {args.year} "
                           "export-population` records what the year's bookings rest on")
    for problem in problems:
        print(f"retention {args.year}: {problem.item_kind} {problem.item}: {problem.what}")
    print(f"retention {args.year}: {checked} item(s) checked, {len(problems)} problem(s); kept until "
          f"{allowed_from.isoformat()}{'' if final else ' at the earliest (no statement recorded yet)'}")
    return 1 if problems else 0


def prune_year(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.verification import retention

    with _writer(data_dir) as con:
        deleted = retention.prune(con, data_dir, args.year)
    print(f"prune {args.year}: {len(deleted)} raw file(s) deleted (the landed rows and the ledger stay)")
    return 0
