"""Bodies of `joulo rev submit`, `joulo rev import-result` and `joulo audit-pack`, and the demo's REV story."""

from __future__ import annotations

from argparse import Namespace

from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.rev.submission import import_result, submit


def run_rev_command(data_dir: DataDir, args) -> int:
    if args.rev_command == "submit":
        summary = submit(data_dir, args.booking, args.by)
        print(f"rev submit {summary['booking_id']}: {summary['line_count']} line(s), {summary['ean_count']} EAN(s), "
              f"{summary['kwh']} kWh, ~{float(summary['ere_estimate']):.2f} ERE; submitted {summary['submitted_at']} "
              f"by {summary['submitted_by']}; rev_booking.xml sha256 {summary['files']['rev_booking.xml'][:12]}...")
        return 0
    rows, new = import_result(data_dir, args.file)
    print(f"rev import-result {args.file.name}: {rows} issued unit row(s) "
          + ("imported; run the booking quarter to reconcile" if new else "already imported (same bytes): nothing to do"))
    return 0


def run_audit_pack(data_dir: DataDir, args) -> int:
    from joulo_pipelines.lib.rev.audit_pack import write_audit_pack

    root = write_audit_pack(data_dir, args.year, args.ean, args.sample, args.seed)
    index = (root / "index.csv").read_text().splitlines()
    print(f"audit-pack {args.year}: {len(index) - 1} EAN(s) written to {root} (index.csv, index.json)")
    return 0


def rev_demo(data_dir: DataDir, ingest, run) -> int:
    """The demo's registration story: Q1-Q3 of 2026 submitted, a partner's late file for Q1, and Q4's draft
    booking carrying the correction while Q1's submitted files stay as they were."""
    from joulo_pipelines.lib.quarters import Quarter
    from joulo_pipelines.lib.rev.late_drop import drop_late_sessions

    print("\nREV: submitting 2026-Q1..Q3 (the files under exports/<quarter>/rev/ are what is uploaded)")
    for number in range(1, 4):
        run_rev_command(data_dir, Namespace(rev_command="submit", booking=f"2026-Q{number}", by="demo"))
    late = drop_late_sessions(data_dir, Quarter(2026, 1))
    print(f"REV: late data for 2026-Q1 arrives ({', '.join(str(p.relative_to(data_dir.root)) for p in late)})")
    if ingest() != 0 or run(Quarter(2026, 1)) != 0 or run(Quarter(2026, 4)) != 0:
        return 1
    print_bookings(data_dir, 2026)
    return 0


def print_bookings(data_dir: DataDir, year: int) -> None:
    from joulo_pipelines.lib.status import format_table, warehouse

    with warehouse(data_dir) as con:
        rows = con.execute(
            """
            select booking_id, status, kind, count(distinct ean), sum(kwh), round(sum(units), 2)
            from ledger.booked_units where delivery_year = ?
            group by booking_id, status, kind order by booking_id, kind desc
            """, [year]).fetchall()
    print(f"\nREV bookings of {year} (ledger.booked_units; exports/<booking>/rev/):")
    print(format_table(["booking", "status", "kind", "EANs", "kWh", "ERE (estimate)"], rows))
