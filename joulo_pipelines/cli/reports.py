"""`joulo reports 2026-Q1`: a run of `reports_job` for one quarter (after approving payouts, the reports
show the approved amounts), and the lines the CLI prints: counts and folders, never a customer."""

from __future__ import annotations

from joulo_pipelines.lib.quarters import Quarter


def rebuild(execute, quarter: Quarter) -> int:
    """`execute` is runner.execute."""
    result = execute("reports_job", partition_key=quarter.partition_key, raise_on_error=False)
    if not result.success:
        print(f"reports {quarter}: FAILED (run id {result.run_id})")
        return 1
    for materialization in result.asset_materializations_for_node("exports__reports"):
        for partner_id, written in materialization.metadata["partners"].value.items():
            print(f"reports {quarter} {partner_id}: {written['folder']}/index.html (year.html, "
                  f"{written['statements']} customer statement(s) in customers/)")
    return 0


def rebuild_quarters(execute, quarters: list[Quarter]) -> int:
    return max((rebuild(execute, quarter) for quarter in quarters), default=0)
