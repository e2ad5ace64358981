"""`joulo mid-scan`: a prospect's MID scan, before they deliver anything."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from joulo_pipelines.lib.paths import DataDir


def register(commands: argparse._SubParsersAction) -> None:
    scan = commands.add_parser("mid-scan", help="a prospect's MID scan: mid_scan.html and mid_scan.csv")
    scan.add_argument("charge_points", type=Path, help="charge_points.csv in the partner file contract's format")
    scan.add_argument("--customers", type=Path, help="customers.csv (EAN and postal code checks)")
    scan.add_argument("--sessions", type=Path, help="sessions.csv (annual kWh; else a typical year is assumed)")
    scan.add_argument("--price", type=Decimal, default=Decimal("0.45"), help="EUR per ERE (default 0.45)")
    scan.add_argument("--out", type=Path, default=Path("."), help="folder for mid_scan.html/.csv (default .)")
    scan.add_argument("--year", type=int, help="delivery year for ERE (default: this year, by the clock)")
    scan.add_argument("--partner", help="the partner running the scan: its brand from the partner registry")
    scan.add_argument("--lang", choices=("nl", "en"), default="en", help="language of mid_scan.html (default en)")
    scan.set_defaults(func=mid_scan)


def mid_scan(args: argparse.Namespace, data_dir: DataDir) -> int:
    from joulo_pipelines.lib.clock import today
    from joulo_pipelines.lib.eligibility.mid_scan import scan_files

    year = args.year or today().year
    summary = scan_files(data_dir, args.charge_points, args.customers, args.sessions, args.price, args.out, year,
                         partner_id=args.partner, lang=args.lang)
    counts = summary.counts
    print(f"mid-scan: {summary.total} charge points: {counts['as_sold']} qualify as sold, {counts['unit_check']} "
          f"after a check of the charger, {counts['external_meter']} with an external MID meter, "
          f"{counts['cannot_qualify']} cannot qualify; written to {args.out / 'mid_scan.html'} and "
          f"{args.out / 'mid_scan.csv'}")
    return 0
