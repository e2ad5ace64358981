"""White-label payout emails: one per customer line of an approved batch, in the customer's language,
HTML and plain text, under the partner's brand; written as .eml and sent over SMTP when configured.

The message is deterministic (Date is the approval time, Message-ID and MIME boundary are derived from the
batch and customer), so a rewritten .eml is byte-identical and a resent message can be recognised."""

from __future__ import annotations

import hashlib
import os
import smtplib
import time
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from joulo_pipelines.lib import labels, templating
from joulo_pipelines.lib.formatting import day, ere, eur, kwh, prices_per_ere
from joulo_pipelines.lib.iban import mask_iban
from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.payouts.amounts import Entry, PayoutLine, beyond_net
from joulo_pipelines.lib.payouts.settings import SmtpSettings
from joulo_pipelines.lib.quarters import Quarter

TEMPLATES = Path(__file__).parent / "templates"

@dataclass(frozen=True)
class EmailRecipient:
    customer_ref: str
    name: str
    email: str
    iban: str | None
    language: str


_environment = templating.environment(TEMPLATES)


def render(partner: Partner, quarter: Quarter, line: PayoutLine, entries: list[Entry], recipient: EmailRecipient,
           payout_model: str, payment_date: date) -> tuple[str, str, str]:
    """(subject, plain text, HTML) for one customer's line and its entries beyond the net, each with its
    quarter; `payout_model` is the one the batch paid with."""
    language = labels.language(recipient.language)
    t = labels.PAYOUT_EMAIL[language]
    brand = partner.brand
    iban = mask_iban(recipient.iban)
    rows = [
        (t["kwh"], kwh(line.kwh, language)),
        (t["units"], ere(line.units, language)),
        (t["price"], prices_per_ere(line.price_eur_per_ere, language)),
        (t["gross"], eur(line.gross_cents, language)),
        (t["fee"], eur(-line.fee_cents, language)),
        (t["share"].format(brand=brand.display_name), eur(-line.partner_share_cents, language)),
        (t["net"], eur(line.net_cents, language)),
    ]
    for e in beyond_net(entries, quarter):
        label = t["entries"][e.kind].format(quarter=Quarter.containing(e.for_quarter_start).label, year=e.delivery_year)
        rows.append((label, eur(e.amount_cents, language)))
    if line.carried_in_cents:
        rows.append((t["carried_in"], eur(line.carried_in_cents, language)))
    rows.append((t["paid"], eur(line.paid_cents, language)))
    rows.append((t["carried_out"], eur(line.carried_out_cents, language)))
    direct = payout_model == "direct"
    if direct:
        rows.append((t["iban"], iban))
    rows.append((t["date"], day(payment_date, language)))
    amount = eur(line.paid_cents, language)
    if line.paid_cents <= 0:
        headline = t["headline_none"]
    elif direct:
        headline = t["headline_paid"].format(amount=amount, iban=iban, date=day(payment_date, language))
    else:
        headline = t["headline_partner"].format(brand=brand.display_name, amount=amount)
    context = dict(
        language=language, t=t, brand=brand, quarter=quarter.label, recipient=recipient, rows=rows,
        headline=headline, units_note=t.get(line.units_source, ""), reason=t["reasons"].get(line.status, ""),
        clawback_note=t["clawback_note"] if any(e.kind == "clawback" for e in entries) else "",
        subject=f"{t['subject']} {quarter.label}",
        why=t["why"].format(brand=brand.display_name),
    )
    return (context["subject"], _environment.get_template("payout_email.txt.j2").render(context),
            _environment.get_template("payout_email.html.j2").render(context))


def message_id_for(partner: Partner, quarter: Quarter, customer_ref: str) -> str:
    digest = hashlib.sha256(f"{partner.id}\x1f{quarter.label}\x1f{customer_ref}".encode()).hexdigest()[:24]
    domain = partner.brand.sender_email.split("@", 1)[1]
    return f"<ere-{quarter.year}q{quarter.number}-{digest}@{domain}>"


def build_message(partner: Partner, quarter: Quarter, line: PayoutLine, entries: list[Entry],
                  recipient: EmailRecipient, payout_model: str, payment_date: date,
                  approved_at: datetime) -> EmailMessage:
    subject, text, html = render(partner, quarter, line, entries, recipient, payout_model, payment_date)
    message = EmailMessage()
    message["From"] = Address(partner.brand.display_name, addr_spec=partner.brand.sender_email)
    message["To"] = Address(recipient.name, addr_spec=recipient.email)
    message["Subject"] = subject
    message["Date"] = format_datetime(approved_at)
    message["Message-ID"] = message_id_for(partner, quarter, recipient.customer_ref)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message.set_boundary("=_" + message["Message-ID"].strip("<>").split("@")[0])
    return message


class SmtpSendError(RuntimeError):
    pass


def send(messages: list[EmailMessage], smtp: SmtpSettings, on_sent) -> int:
    """Send each message, retrying a failed attempt `smtp.attempts` times; `on_sent(message)` records a
    delivered one before the next is tried, so a crash never loses the record of what went out."""
    username = os.environ.get(smtp.username_env) if smtp.username_env else None
    password = os.environ.get(smtp.password_env) if smtp.password_env else None
    sent = 0
    for message in messages:
        for attempt in range(1, smtp.attempts + 1):
            try:
                with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
                    if smtp.starttls:
                        client.starttls()
                    if username and password:
                        client.login(username, password)
                    client.send_message(message)
                break
            except (smtplib.SMTPException, OSError) as exc:
                if attempt == smtp.attempts:
                    raise SmtpSendError(f"SMTP {smtp.host}:{smtp.port}: message {message['Message-ID']} not sent "
                                        f"after {attempt} attempts ({type(exc).__name__})") from None
                time.sleep(smtp.retry_wait_seconds * attempt)
        on_sent(message)
        sent += 1
    return sent
