"""`joulo rev submit` (prepare), `joulo rev approve`, `joulo rev import-result` and `joulo audit-pack`, and
the demo's REV story."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.formatting import ere
from joulo_pipelines.lib.paths import DataDir


def register(commands: argparse._SubParsersAction) -> None:
    rev = commands.add_parser("rev", help="REV registration: prepare and approve a booking, import what the REV "
                                          "issued")
    rev_commands = rev.add_subparsers(dest="rev_command", required=True)
    rev_submit = rev_commands.add_parser("submit", help="prepare a booking: record its files, who and when")
    rev_submit.add_argument("booking", help="2026-Q1, or 2026-S1 for a supplementary booking of 2026")
    rev_submit.add_argument("--by", help="who prepared it (default: the OS user)")
    rev_submit.add_argument("--allow-empty", action="store_true",
                            help="prepare a booking without deliveries or amendments (refused otherwise: a "
                                 "submitted booking never changes)")
    rev_submit.set_defaults(func=lambda args, data_dir: submit(data_dir, args.booking, args.by, args.allow_empty))
    rev_approve = rev_commands.add_parser("approve", help="approve a prepared booking (someone else than who "
                                                          "prepared it): it is submitted")
    rev_approve.add_argument("booking", help="2026-Q1, or 2026-S1 for a supplementary booking of 2026")
    rev_approve.add_argument("--by", help="who approved it (default: the OS user)")
    rev_approve.set_defaults(func=lambda args, data_dir: approve(data_dir, args.booking, args.by))
    rev_import = rev_commands.add_parser("import-result", help="import the units the REV issued and the ids it "
                                                               "gave connections and deliveries (CSV or XML)")
    rev_import.add_argument("file", type=Path)
    rev_import.set_defaults(func=lambda args, data_dir: import_result(data_dir, args.file))
    audit = commands.add_parser("audit-pack", help="the verifier's evidence per EAN of their imported sample "
                                                   "(joulo verification <year> import-sample) under exports/audit/<year>/")
    audit.add_argument("--year", type=int, required=True)
    audit.add_argument("--ean", action="append", default=[],
                       help="an EAN to include instead of the sample (repeatable)")
    audit.set_defaults(func=audit_pack)


def submit(data_dir: DataDir, booking: str, by: str | None, allow_empty: bool = False) -> int:
    from joulo_pipelines.lib.registration import submission

    manifest = submission.submit(data_dir, booking, by, allow_empty)
    print(f"rev submit {manifest['booking_id']}: prepared {_package(manifest)} by {manifest['prepared_by']} "
          f"at {clock.for_people(manifest['prepared_at'])}; "
          f"upload the files, then another person approves (joulo rev approve {manifest['booking_id']})")
    return 0


def approve(data_dir: DataDir, booking: str, by: str | None) -> int:
    from joulo_pipelines.lib.registration import submission

    manifest = submission.approve(data_dir, booking, by)
    print(f"rev approve {manifest['booking_id']}: submitted {_package(manifest)}; prepared by "
          f"{manifest['prepared_by']}, approved {clock.for_people(manifest['approved_at'])} by {manifest['approved_by']}; "
          f"deliveries.xml sha256 {manifest['files']['deliveries.xml'][:12]}...")
    return 0


def _package(manifest: dict) -> str:
    return (f"{manifest['deliveries']} delivery(ies), {manifest['amendments']} amendment(s), "
            f"{manifest['connections']} connection(s), {manifest['ean_count']} EAN(s), {manifest['kwh_change']} kWh, "
            f"~{ere(Decimal(manifest['ere_estimate']), 'en')} ERE")  # kWh as the register file states them


def import_result(data_dir: DataDir, file: Path) -> int:
    from joulo_pipelines.lib.registration import submission

    rows, new = submission.import_result(data_dir, file)
    print(f"rev import-result {file.name}: {rows} issued unit row(s) "
          + ("imported; run the booking quarter to reconcile" if new else "already imported (same bytes): nothing to do"))
    return 0


def audit_pack(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.registration.audit_pack import write_audit_pack

    root = write_audit_pack(data_dir, args.year, args.ean)
    index = (root / "index.csv").read_text().splitlines()
    print(f"audit-pack {args.year}: {len(index) - 1} EAN(s) written to {root} (index.csv, index.json)")
    return 0


def rev_demo(data_dir: DataDir) -> int:
    """The demo's registration story: Q1-Q3 of 2026 prepared and approved by two people and issued by the
    register (its results imported), a partner's late file for Q1, and Q4's draft booking carrying the
    amendments of Q1 while Q1's submitted files stay as they were."""
    from joulo_pipelines.cli.ingest import ingest
    from joulo_pipelines.cli.warehouse import run_quarter
    from joulo_pipelines.lib.demo.rev_results import write_rev_result
    from joulo_pipelines.lib.quarters import Quarter
    from joulo_pipelines.lib.registration.late_drop import drop_late_sessions

    print("\nREV: preparing and approving 2026-Q1..Q3 (the XML files under exports/<quarter>/rev/ are what is "
          "uploaded)")
    for number in range(1, 4):
        submit(data_dir, f"2026-Q{number}", "demo-preparer")
        approve(data_dir, f"2026-Q{number}", "demo-approver")
    print("REV: the register issues 2026-Q1..Q3 (its results, as downloaded, under rev_results/)")
    for number in range(1, 4):
        import_result(data_dir, write_rev_result(data_dir, f"2026-Q{number}"))
    late = drop_late_sessions(data_dir, Quarter(2026, 1))
    print(f"REV: late data for 2026-Q1 arrives ({', '.join(str(p.relative_to(data_dir.root)) for p in late)})")
    if (ingest(data_dir, ["files"], None) != 0 or run_quarter(Quarter(2026, 1)) != 0
            or run_quarter(Quarter(2026, 4)) != 0):
        return 1
    print_bookings(data_dir, 2026)
    return 0


def print_bookings(data_dir: DataDir, year: int) -> None:
    from joulo_pipelines.lib import warehouse
    from joulo_pipelines.lib.tables import print_table

    with warehouse.connect(data_dir, read_only=True) as con:
        rows = con.execute(
            """
            select booking_id, status, kind, count(distinct ean), sum(kwh), round(sum(units), 2)
            from ledger.booked_units where delivery_year = ?
            group by booking_id, status, kind order by booking_id, kind desc
            """, [year]).fetchall()
    print(f"\nREV bookings of {year} (ledger.booked_units; exports/<booking>/rev/):")
    print_table(["booking", "status", "kind", "EANs", "kWh", "ERE (estimate)"], rows)
