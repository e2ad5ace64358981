"""`joulo payouts approve 2026-Q1 --partner P`: a run of `payouts_job` that freezes the partner's quarter in
the ledger and writes its files, and a summary for the person who approved it (counts and sums only)."""

from __future__ import annotations

import argparse

from joulo_pipelines.cli import runner
from joulo_pipelines.lib.payouts.money import cents_to_eur
from joulo_pipelines.lib.quarters import Quarter


def register(commands: argparse._SubParsersAction) -> None:
    payouts = commands.add_parser("payouts", help="payouts: approve a partner's quarter")
    payout_commands = payouts.add_subparsers(dest="payouts_command", required=True)
    approve_parser = payout_commands.add_parser("approve", help="freeze a partner's quarter in the payout ledger "
                                                                "and write its statement, SEPA file and emails")
    approve_parser.add_argument("quarter", type=Quarter.parse, help="2026-Q1 or 2026-01-01")
    approve_parser.add_argument("--partner", required=True)
    approve_parser.set_defaults(func=lambda args, data_dir: approve(args.quarter, args.partner))


def _approval_run(quarter: Quarter, partner_id: str) -> tuple[bool, dict]:
    """(whether the run succeeded, the partner's outcome: state, message, totals in cents)"""
    result = runner.execute(
        "payouts_job", partition_key=quarter.partition_key, raise_on_error=False,
        run_config={"ops": {"exports__payouts": {"config": {"approve_partner": partner_id}}}})
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        reason = failure.step_failure_data.error.message.strip() if failure else "see the Dagster run"
        return False, {"state": "FAILED", "message": f"{reason} (run id {result.run_id})"}
    outcome = {}
    for materialization in result.asset_materializations_for_node("exports__payouts"):
        outcome = materialization.metadata["partners"].value.get(partner_id, {})
    return True, outcome


def approve(quarter: Quarter, partner_id: str) -> int:
    _, outcome = _approval_run(quarter, partner_id)
    print(describe(quarter, partner_id, outcome))
    return 0 if outcome.get("state", "").startswith("approved") else 1


def approve_quarters(partner_ids: list[str], quarters: list[Quarter]) -> int:
    """The demo's approvals: every partner's quarters in order, then the first one again to show that a
    second approval changes nothing. Non-zero only when a run failed (a quarter without bookings or price
    is reported, not an error)."""
    failed = False
    for quarter in quarters:
        for partner_id in partner_ids:
            ok, outcome = _approval_run(quarter, partner_id)
            print(describe(quarter, partner_id, outcome))
            failed = failed or not ok
    if quarters and partner_ids:
        print(describe(quarters[0], partner_ids[0], _approval_run(quarters[0], partner_ids[0])[1]))
    return 1 if failed else 0


def describe(quarter: Quarter, partner_id: str, outcome: dict) -> str:
    state = outcome.get("state", "unknown")
    if not state.startswith("approved"):
        return f"payouts {quarter} {partner_id}: {state}: {outcome.get('message', '')}"
    verb = "approved" if state == "approved_now" else "already approved, nothing changed:"
    return (f"payouts {quarter} {partner_id}: {verb} {outcome['customers']} customer(s), "
            f"gross EUR {cents_to_eur(outcome['gross_cents'])}, fee EUR {cents_to_eur(outcome['fee_cents'])}, "
            f"partner share EUR {cents_to_eur(outcome['partner_share_cents'])}, "
            f"paid EUR {cents_to_eur(outcome['paid_cents'])} to {outcome['paid_lines']} customer(s), "
            f"carried over EUR {cents_to_eur(outcome['carried_over_cents'])}, held {outcome['held_lines']}, "
            f"emails sent {outcome.get('emails_sent', 0)}")
