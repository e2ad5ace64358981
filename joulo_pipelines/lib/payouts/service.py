"""A quarter's payouts for every partner (or one): propose, prepare, approve, write the files, send the emails.

The Dagster assets and `joulo payouts prepare` / `approve` all come through here. What they report per partner is
counts and sums in cents, never a person."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from joulo_pipelines.lib import clock, warehouse
from joulo_pipelines.lib.partners import load_registry
from joulo_pipelines.lib.paths import DataDir, write_atomically
from joulo_pipelines.lib.payouts import exports, ledger, proposal
from joulo_pipelines.lib.payouts.sepa import SepaValidationError
from joulo_pipelines.lib.payouts.settings import load_payment_settings, load_sales
from joulo_pipelines.lib.quarters import Quarter


@dataclass
class PartnerOutcome:
    partner_id: str
    state: str  # approved_now | approved_before | prepared | proposed | refused | not_computed | files_not_written
    message: str = ""
    totals: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    emails_sent: int = 0


def payments_file(data_dir: DataDir) -> Path:
    return data_dir.config / "payments.yaml"


def sales_file(data_dir: DataDir) -> Path:
    return data_dir.config / "ere_sales.csv"


def run_quarter(data_dir: DataDir, quarter: Quarter, partner_id: str | None = None,
                prepare_by: str | None = None, approve_by: str | None = None) -> list[PartnerOutcome]:
    """Per partner: approve first if asked (by `approve_by`); an approved batch gets its files (and emails
    when SMTP is set), an unapproved one a `proposal.csv` to review, recorded as prepared by `prepare_by`
    if given. A partner whose payout cannot be computed, or whose approval is refused, is reported with the
    reason and does not stop the others."""
    if (prepare_by or approve_by) and partner_id is None:
        raise ValueError("a payout is prepared or approved for one partner at a time")
    if prepare_by and approve_by:
        raise ValueError("preparing and approving a payout are two steps, taken one at a time")
    registry = load_registry(data_dir.partners_file)
    partners = [registry.require(partner_id)] if partner_id else registry.partners
    settings = load_payment_settings(payments_file(data_dir))
    sales = load_sales(sales_file(data_dir))
    outcomes = []
    with warehouse.connect(data_dir, read_only=False) as con:
        ledger.ensure_schema(con)
        for partner in partners:
            outcome = PartnerOutcome(partner.id, "proposed")
            try:
                # The approved batch is read once and handed on: the files and emails are what it froze.
                if approve_by:
                    batch, created = proposal.approve(con, partner, quarter, settings, sales, approve_by)
                    outcome.state = "approved_now" if created else "approved_before"
                else:
                    batch = ledger.find_batch(con, partner.id, quarter)
                if batch is None:
                    draft = proposal.compute(con, partner, quarter, settings, sales)
                    path = exports.payout_folder(data_dir, quarter, partner.id) / "proposal.csv"
                    write_atomically(path, exports.statement_csv(draft.lines, draft.entries))
                    outcome.totals, outcome.files = asdict(exports.totals(partner.id, draft.lines, draft.entries)), [str(path)]
                    if prepare_by:
                        proposal.prepare(con, draft, prepare_by)
                        outcome.state = "prepared"
                        outcome.message = (f"awaiting `joulo payouts approve {quarter} --partner {partner.id} "
                                           "--by <another person>`")
                    else:
                        outcome.message = (f"awaiting `joulo payouts prepare {quarter} --partner {partner.id} "
                                           "--by <name>` and an approval by another person")
                else:
                    lines = ledger.batch_lines(con, batch)
                    totals, paths = exports.write_batch_files(con, data_dir, partner, quarter, batch, lines,
                                                            settings)
                    # The frozen statement replaces the draft, so nobody pays from a stale proposal.
                    (exports.payout_folder(data_dir, quarter, partner.id) / "proposal.csv").unlink(missing_ok=True)
                    outcome.state = outcome.state if approve_by else "approved_before"
                    outcome.totals, outcome.files = asdict(totals), [str(p) for p in paths]
                    outcome.emails_sent = exports.send_batch_emails(con, partner, quarter, batch, lines, settings,
                                                                    clock.now)
            except proposal.PayoutNotComputed as exc:
                outcome.state, outcome.message = "not_computed", str(exc)
            except proposal.ApprovalRefused as exc:
                outcome.state, outcome.message = "refused", str(exc)
            except SepaValidationError as exc:
                # This partner's payment file cannot be written (e.g. a value XML cannot hold): the others' can.
                outcome.state, outcome.message = "files_not_written", f"partner {partner.id}: {exc}"

            outcomes.append(outcome)
    return outcomes
