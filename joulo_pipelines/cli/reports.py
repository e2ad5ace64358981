"""`joulo reports 2026-Q1`: a run of `reports_job` for one quarter (after approving payouts, the reports
show the approved amounts), and the lines the CLI prints: counts and folders, never a customer."""

from __future__ import annotations

import argparse

from joulo_pipelines.cli import runner
from joulo_pipelines.lib.quarters import Quarter


def register(commands: argparse._SubParsersAction) -> None:
    reports = commands.add_parser("reports", help="rebuild a quarter's partner reports (after approving payouts)")
    reports.add_argument("quarter", type=Quarter.parse, help="2026-Q1 or 2026-01-01")
    reports.set_defaults(func=lambda args, data_dir: rebuild(args.quarter))


def rebuild(quarter: Quarter) -> int:
    result = runner.execute("reports_job", partition_key=quarter.partition_key, raise_on_error=False)
    if not result.success:
        print(f"reports {quarter}: FAILED (run id {result.run_id})")
        return 1
    for materialization in result.asset_materializations_for_node("exports__reports"):
        for partner_id, written in materialization.metadata["partners"].value.items():
            print(f"reports {quarter} {partner_id}: {written['folder']}/index.html (year.html, "
                  f"{written['statements']} customer statement(s) in customers/)")
    return 0


def rebuild_quarters(quarters: list[Quarter]) -> int:
    return max((rebuild(quarter) for quarter in quarters), default=0)
