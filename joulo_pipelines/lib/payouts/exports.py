"""The files of an approved batch, under exports/<YYYY>-Q<n>/payouts/<partner_id>/: statement.csv, the
partner's account_entries.csv (every entry of its customers' accounts: settlements, clawbacks, advances,
holdbacks), the SEPA credit transfer, payout_breakdown.csv (partner_account model; for the partner's people
to open in Dutch Excel: `;`, decimal comma, BOM) and emails/<customer_ref>.eml. statement.csv and
account_entries.csv are data for the partner's systems: comma-separated, amounts with a decimal point.

Everything is read from the ledger, so a rerun rewrites the same bytes and never disagrees with what was
approved. The SEPA file is validated before it is written; a file that does not validate is never written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.formatting import EUR_PLACES, spreadsheet_number
from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.paths import DataDir, write_if_changed
from joulo_pipelines.lib.payouts import ledger
from joulo_pipelines.lib.payouts.amounts import Entry, PayoutLine
from joulo_pipelines.lib.iban import mask_iban
from joulo_pipelines.lib.payouts.emails import EmailRecipient, build_message, send
from joulo_pipelines.lib.payouts.money import cents_to_eur
from joulo_pipelines.lib.payouts.proposal import read_customers
from joulo_pipelines.lib.payouts.sepa import Transfer, credit_transfer
from joulo_pipelines.lib.payouts.settings import PaymentSettings
from joulo_pipelines.lib.quarters import Quarter

STATEMENT_COLUMNS = ["customer_ref", "kwh", "units", "units_source", "price_eur_per_ere", "gross_eur", "fee_eur",
                     "partner_share_eur", "net_eur", "adjustment_eur", "carried_in_eur", "paid_eur",
                     "carried_over_eur", "status", "reason", "entries"]
ENTRY_COLUMNS = ["customer_ref", "entry", "quarter", "delivery_year", "line_kind", "amount_eur"]
BREAKDOWN_COLUMNS = ["customer_ref", "account_holder", "iban_masked", "amount_eur", "end_to_end_id"]


@dataclass(frozen=True)
class BatchTotals:
    """What the Dagster metadata may show: counts and sums, no person."""
    partner_id: str
    customers: int
    paid_lines: int
    gross_cents: int
    fee_cents: int
    partner_share_cents: int
    net_cents: int
    paid_cents: int
    carried_over_cents: int
    held_lines: int
    clawback_lines: int  # customers an EAN found ineligible after it was paid (or a lower result) took back from
    clawback_cents: int


def payout_folder(data_dir: DataDir, quarter: Quarter, partner_id: str) -> Path:
    return data_dir.exports / quarter.label / "payouts" / partner_id


def totals(partner_id: str, lines: list[PayoutLine], entries: list[Entry]) -> BatchTotals:
    clawbacks = [e for e in entries if e.kind == "clawback"]
    return BatchTotals(
        partner_id=partner_id, customers=len(lines), paid_lines=sum(1 for l in lines if l.paid_cents > 0),
        gross_cents=sum(l.gross_cents for l in lines), fee_cents=sum(l.fee_cents for l in lines),
        partner_share_cents=sum(l.partner_share_cents for l in lines), net_cents=sum(l.net_cents for l in lines),
        paid_cents=sum(l.paid_cents for l in lines), carried_over_cents=sum(l.carried_out_cents for l in lines),
        held_lines=sum(1 for l in lines if l.status == "held"),
        clawback_lines=len({e.customer_ref for e in clawbacks}), clawback_cents=sum(e.amount_cents for e in clawbacks))


def _csv(header: list[str], rows: list[list]) -> bytes:
    return people_csv.render(header, rows).encode("utf-8")


def entry_quarter(entry: Entry) -> str:
    return Quarter.containing(entry.for_quarter_start).label


def statement_csv(lines: list[PayoutLine], entries: list[Entry]) -> bytes:
    """Per customer the line and, in `entries`, what made up its amount: `settlement 2026-Q1 35.20; ...`."""
    shown: dict[str, list[str]] = {}
    for e in entries:
        shown.setdefault(e.customer_ref, []).append(f"{e.kind} {entry_quarter(e)} {cents_to_eur(e.amount_cents)}")
    return _csv(STATEMENT_COLUMNS, [
        [l.customer_ref, f"{l.kwh:.3f}", f"{l.units:.6f}", l.units_source, l.price_eur_per_ere,
         cents_to_eur(l.gross_cents), cents_to_eur(l.fee_cents), cents_to_eur(l.partner_share_cents),
         cents_to_eur(l.net_cents), cents_to_eur(l.adjustment_cents), cents_to_eur(l.carried_in_cents),
         cents_to_eur(l.paid_cents), cents_to_eur(l.carried_out_cents), l.status, l.reason,
         "; ".join(shown.get(l.customer_ref, []))] for l in lines])


def entries_csv(entries: list[Entry]) -> bytes:
    """The partner's report of its customers' account entries, clawbacks included."""
    return _csv(ENTRY_COLUMNS, [[e.customer_ref, e.kind, entry_quarter(e), e.delivery_year, e.line_kind,
                                 cents_to_eur(e.amount_cents)] for e in entries])


def breakdown_csv(paid: list[tuple[PayoutLine, str, str | None, str]]) -> bytes:
    """What the partner pays each customer out of the one sum it received, (line, account holder, masked IBAN,
    end-to-end id) per customer: for the partner's people, so written for Dutch Excel (people_csv.dutch_excel)."""
    return people_csv.dutch_excel(BREAKDOWN_COLUMNS, [
        [line.customer_ref, holder, iban, spreadsheet_number(Decimal(line.paid_cents).scaleb(-EUR_PLACES), EUR_PLACES),
         end_to_end_id] for line, holder, iban, end_to_end_id in paid])


def _message_id(batch: ledger.Batch) -> str:
    digest = hashlib.sha256(batch.batch_id.encode()).hexdigest()[:10]
    return f"ERE-{batch.batch_id[:20]}-{digest}"


def write_batch_files(con: duckdb.DuckDBPyConnection, data_dir: DataDir, partner: Partner, quarter: Quarter,
                      batch: ledger.Batch, lines: list[PayoutLine],
                      settings: PaymentSettings) -> tuple[BatchTotals, list[Path]]:
    """Write the approved batch's files from what the ledger froze (the batch, its lines and entries)."""
    recipients = {ref: recipient for ref, (_, recipient) in read_customers(con, partner.id).items()}
    entries = ledger.batch_entries(con, batch)
    folder = payout_folder(data_dir, quarter, partner.id)
    written = [folder / "statement.csv", folder / "account_entries.csv"]
    write_if_changed(written[0], statement_csv(lines, entries))
    write_if_changed(written[1], entries_csv(entries))
    e2e = dict(con.execute("select customer_ref, end_to_end_id from ledger.payout_lines where batch_id = ?",
                           [batch.batch_id]).fetchall())
    paid = [l for l in lines if l.paid_cents > 0]
    if paid:
        if batch.payout_model == "direct":
            transfers = [Transfer(e2e[l.customer_ref], l.paid_cents, recipients[l.customer_ref].account_holder,
                                  recipients[l.customer_ref].iban,
                                  f"ERE {quarter.label} {partner.brand.display_name} {l.customer_ref}",
                                  payee=f"customer_ref {l.customer_ref!a}") for l in paid]
            ultimate_debtor = partner.brand.display_name
        else:
            # The partner's account as the approval recorded it, not as the registry says today.
            transfers = [Transfer(ledger.end_to_end_id(partner.id, "", quarter), sum(l.paid_cents for l in paid),
                                  partner.name, ledger.batch_contract(con, batch).partner_iban,
                                  f"ERE {quarter.label} payouts {len(paid)} customers, see breakdown")]
            ultimate_debtor = None
            written.append(folder / "payout_breakdown.csv")
            write_if_changed(written[-1], breakdown_csv([
                (l, recipients[l.customer_ref].account_holder, mask_iban(recipients[l.customer_ref].iban),
                 e2e[l.customer_ref]) for l in paid]))
        content = credit_transfer(batch.sepa_schema, _message_id(batch), batch.approved_at, settings.client_funds,
                                  ultimate_debtor, batch.payment_date, transfers)
        written.append(folder / "sepa_credit_transfer.xml")
        write_if_changed(written[-1], content)
    for line, message in batch_messages(partner, quarter, batch, lines, entries, recipients):
        written.append(folder / "emails" / f"{_safe(line.customer_ref)}.eml")
        write_if_changed(written[-1], bytes(message))
    return totals(partner.id, lines, entries), written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def batch_messages(partner: Partner, quarter: Quarter, batch: ledger.Batch, lines: list[PayoutLine],
                   entries: list[Entry], recipients: dict) -> list:
    """(line, message) for every customer with something to tell and an email address."""
    by_customer: dict[str, list[Entry]] = {}
    for e in entries:
        by_customer.setdefault(e.customer_ref, []).append(e)
    messages = []
    for line in lines:
        recipient = recipients.get(line.customer_ref)
        if line.status == "nothing_due" or recipient is None or not recipient.email:
            continue
        to = EmailRecipient(line.customer_ref, recipient.name, recipient.email, recipient.iban, recipient.language)
        messages.append((line, build_message(partner, quarter, line, by_customer.get(line.customer_ref, []), to,
                                             batch.payout_model, batch.payment_date, batch.approved_at)))
    return messages


def send_batch_emails(con: duckdb.DuckDBPyConnection, partner: Partner, quarter: Quarter, batch: ledger.Batch,
                      lines: list[PayoutLine], settings: PaymentSettings, sent_at) -> int:
    """Send the approved batch's emails not sent before; returns how many went out now."""
    if settings.smtp is None:
        return 0
    done = ledger.emailed(con, partner.id, quarter)
    recipients = {ref: recipient for ref, (_, recipient) in read_customers(con, partner.id).items()}
    entries = ledger.batch_entries(con, batch)
    pending = [(line, message) for line, message
               in batch_messages(partner, quarter, batch, lines, entries, recipients) if line.customer_ref not in done]
    by_id = {message["Message-ID"]: line.customer_ref for line, message in pending}
    return send([message for _, message in pending], settings.smtp,
                lambda message: ledger.record_email(con, partner.id, quarter, by_id[message["Message-ID"]],
                                                    message["Message-ID"], sent_at()))
