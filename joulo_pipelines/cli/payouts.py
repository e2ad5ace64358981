"""`joulo payouts prepare 2026-Q1 --partner P --by A` then `joulo payouts approve 2026-Q1 --partner P --by B`:
runs of `payouts_job` that record the partner's proposal as prepared by one person, then freeze it in the
ledger as approved by another (four eyes) and write its files; a summary for each (counts and sums only)."""

from __future__ import annotations

import argparse

from joulo_pipelines.cli import console, runner
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir
from joulo_pipelines.lib.formatting import eur
from joulo_pipelines.lib.quarters import Quarter

DEMO_PREPARER, DEMO_APPROVER = "demo-preparer", "demo-approver"


def _person(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("--by needs the name of the person, e.g. --by j.jansen")
    return text.strip()


def register(commands: argparse._SubParsersAction) -> None:
    payouts = commands.add_parser("payouts", help="payouts: prepare and approve a partner's quarter (four eyes)")
    payout_commands = payouts.add_subparsers(dest="payouts_command", required=True)
    prepare_parser = payout_commands.add_parser(
        "prepare", help="record the partner's quarter proposal (proposal.csv) as prepared by you, for another "
                        "person to approve")
    approve_parser = payout_commands.add_parser(
        "approve", help="freeze the prepared proposal in the payout ledger and write its statement, SEPA file "
                        "and emails; refused if you prepared it or it changed since")
    for parser in (prepare_parser, approve_parser):
        parser.add_argument("quarter", type=Quarter.parse, help="2026-Q1 or 2026-01-01")
        parser.add_argument("--partner", required=True)
        parser.add_argument("--by", required=True, type=_person, help="your name, kept in the payout ledger")
    prepare_parser.set_defaults(func=lambda args, data_dir: prepare(args.quarter, _partner(data_dir, args.partner), args.by))
    approve_parser.set_defaults(func=lambda args, data_dir: approve(args.quarter, _partner(data_dir, args.partner), args.by))


def _partner(data_dir: DataDir, partner_id: str) -> str:
    return load_registry(data_dir.partners_file).require(partner_id).id


def _payouts_run(quarter: Quarter, partner_id: str, step: str, by: str) -> tuple[bool, dict]:
    """(whether the run succeeded, the partner's outcome: state, message, totals in cents); `step` is
    prepare_by or approve_by."""
    result = runner.execute(
        "payouts_job", partition_key=quarter.partition_key, raise_on_error=False,
        run_config={"ops": {"exports__payouts": {"config": {"partner": partner_id, step: by}}}})
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        reason = console.failure_reason(failure) if failure else "see the Dagster run"
        return False, {"state": "FAILED", "message": f"{reason} (run id {result.run_id})"}
    outcome = {}
    for materialization in result.asset_materializations_for_node("exports__payouts"):
        outcome = materialization.metadata["partners"].value.get(partner_id, {})
    return True, outcome


def prepare(quarter: Quarter, partner_id: str, by: str) -> int:
    _, outcome = _payouts_run(quarter, partner_id, "prepare_by", by)
    print(describe(quarter, partner_id, outcome))
    return _exit_code(outcome, outcome.get("state") in ("prepared", "approved_before"))


def approve(quarter: Quarter, partner_id: str, by: str) -> int:
    _, outcome = _payouts_run(quarter, partner_id, "approve_by", by)
    print(describe(quarter, partner_id, outcome))
    return _exit_code(outcome, outcome.get("state", "").startswith("approved"))


def _exit_code(outcome: dict, done: bool) -> int:
    """0 when done, 1 when the run failed, 2 when it refused (four eyes, nothing prepared...): as cli.main."""
    return 0 if done else 1 if outcome.get("state") == "FAILED" else console.USAGE_ERROR


def approve_quarters(partner_ids: list[str], quarters: list[Quarter]) -> int:
    """The demo's approvals: every partner's quarters in order, prepared by one demo person and approved by
    another, then the first one approved again to show that a second approval changes nothing. Non-zero
    only when a run failed (a quarter without bookings or price is reported, not an error)."""
    failed = False
    for quarter in quarters:
        for partner_id in partner_ids:
            for step, by in (("prepare_by", DEMO_PREPARER), ("approve_by", DEMO_APPROVER)):
                ok, outcome = _payouts_run(quarter, partner_id, step, by)
                print(describe(quarter, partner_id, outcome))
                failed = failed or not ok
                if outcome.get("state") != "prepared":
                    break  # nothing to approve
    if quarters and partner_ids:
        print(describe(quarters[0], partner_ids[0],
                       _payouts_run(quarters[0], partner_ids[0], "approve_by", DEMO_APPROVER)[1]))
    return 1 if failed else 0


def describe(quarter: Quarter, partner_id: str, outcome: dict) -> str:
    state = outcome.get("state", "unknown")
    if state == "prepared":
        return f"payouts {quarter} {partner_id}: prepared {_totals(outcome)}; {outcome.get('message', '')}"
    if not state.startswith("approved"):
        return f"payouts {quarter} {partner_id}: {state}: {outcome.get('message', '')}"
    verb = "approved" if state == "approved_now" else "already approved, nothing changed:"
    return f"payouts {quarter} {partner_id}: {verb} {_totals(outcome)}, emails sent {outcome.get('emails_sent', 0)}"


def _totals(outcome: dict) -> str:
    def euros(key: str) -> str:
        return eur(outcome[key], "en")  # the CLI speaks English

    return (f"{outcome['customers']} customer(s), gross {euros('gross_cents')}, fee {euros('fee_cents')}, "
            f"partner share {euros('partner_share_cents')}, "
            f"paid {euros('paid_cents')} to {outcome['paid_lines']} customer(s), "
            f"carried over {euros('carried_over_cents')}, held {outcome['held_lines']}")
