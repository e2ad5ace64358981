"""`joulo reports 2026-Q1`: a run of `reports_job` for one quarter (after approving payouts, the reports
show the approved amounts); `joulo reports 2026-Q1 --partner P`: that partner's reports with every customer's
statement as a file, for a partner who wants the files (the quarter run writes none: the dashboard renders
them on demand). The lines the CLI prints: counts and folders, never a customer."""

from __future__ import annotations

import argparse

from joulo_pipelines.cli import runner
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.quarters import Quarter


def register(commands: argparse._SubParsersAction) -> None:
    reports = commands.add_parser("reports", help="rebuild a quarter's partner reports (after approving payouts)")
    reports.add_argument("quarter", type=Quarter.parse, help="2026-Q1 or 2026-01-01")
    reports.add_argument("--partner", help="this partner's reports only, with customers/<customer>.html: every "
                                           "customer's statement as a file")
    reports.set_defaults(func=lambda args, data_dir: rebuild(args.quarter, _partner(data_dir, args.partner)))


def _partner(data_dir: DataDir, partner_id: str | None) -> str | None:
    return load_registry(data_dir.partners_file).require(partner_id).id if partner_id else None


def rebuild(quarter: Quarter, partner_id: str | None = None) -> int:
    result = runner.execute("reports_job", partition_key=quarter.partition_key, raise_on_error=False,
                            run_config={"ops": {"exports__reports": {"config": {"partner": partner_id}}}})
    if not result.success:
        print(f"reports {quarter}: FAILED (run id {result.run_id})")
        return 1
    for materialization in result.asset_materializations_for_node("exports__reports"):
        for partner, written in materialization.metadata["partners"].value.items():
            statements = (f"{written['statements']} customer statement(s) in customers/" if partner_id else
                          "statements in the dashboard")
            print(f"reports {quarter} {partner}: {written['folder']}/index.html (year.html, {statements})")
    return 0


def rebuild_quarters(quarters: list[Quarter]) -> int:
    return max((rebuild(quarter) for quarter in quarters), default=0)
