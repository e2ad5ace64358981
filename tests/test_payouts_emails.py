"""White-label payout emails: sent to a real SMTP server on loopback with the right totals and nobody
else's data, retried when the server refuses, never sent twice; the HTML rendered by headless Chromium
shows the breakdown."""

from __future__ import annotations

import email
import email.policy
import html
import re

import pytest

from joulo_pipelines.lib.quarters import Quarter
from chromium import dump_dom
from payouts_world import booking, build_world, customer, prepare_and_approve
from smtp_server import SmtpServer

IBAN_A1, IBAN_A2 = "NL02ABNA0123456789", "NL02ABNA0123456780"  # A2: check digits wrong


class Inbox:
    """An aiosmtpd handler that keeps what it receives; `refuse` first answers that many DATA with a 451."""

    def __init__(self, refuse: int = 0):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_inbox():
    inbox = Inbox(refuse=1)
    controller = SmtpServer(inbox)
    controller.start()
    yield inbox, controller.port
    controller.stop()


def world(data_dir, port: int | None):
    return build_world(
        data_dir,
        [customer("alpha", "A1", "Jan de Vries", IBAN_A1), customer("alpha", "A2", "Emma Smith", IBAN_A2, "en"),
         customer("alpha", "A3", "Kees Laag", IBAN_A1), customer("beta", "B1", "Els Bos", None)],
        [booking("alpha", "A1", "2026-01-01", "332.694"), booking("alpha", "A2", "2026-01-01", "100.5"),
         booking("alpha", "A3", "2026-01-01", "5"), booking("beta", "B1", "2026-01-01", "250")],
        payments={"smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "attempts": 3,
                           "retry_wait_seconds": 0}} if port else {})


def body(message) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


def test_payout_emails_arrive_once_with_the_right_totals_and_no_other_customers_data(data_dir, smtp_inbox):
    inbox, port = smtp_inbox
    world(data_dir, port)
    outcomes = prepare_and_approve(data_dir, Quarter(2026, 1))
    assert {o.partner_id: o.emails_sent for o in outcomes} == {"alpha": 3, "beta": 1}
    by_recipient = {m["To"].addresses[0].addr_spec: m for m in inbox.messages}
    assert sorted(by_recipient) == ["a1@example.org", "a2@example.org", "a3@example.org", "b1@example.org"]

    a1_text, a1_html = body(by_recipient["a1@example.org"])
    # 332.694 ERE x EUR 0.44 = 146.39 gross; 15 % fee 21.96, 5 % partner share 7.32, net 117.11
    for text in (a1_text, a1_html):
        assert "€\xa0146,39" in text and "€\xa0-21,96" in text and "€\xa0-7,32" in text and "€\xa0117,11" in text
        assert "NL02 **** **** 6789" in text and IBAN_A1 not in text
        for other in ("Emma Smith", "Kees Laag", "Els Bos", "a2@example.org", "A2", "B1", IBAN_A2):
            assert other not in text
    assert by_recipient["a1@example.org"]["From"].addresses[0].display_name == "AlphaCharge"
    assert by_recipient["a1@example.org"]["Subject"] == "Uw ERE-uitbetaling over 2026-Q1"
    assert "Joulo" not in a1_text + a1_html  # white label: the partner did not ask to mention us

    a2_text, _ = body(by_recipient["a2@example.org"])
    assert by_recipient["a2@example.org"]["Subject"] == "Your ERE payout for 2026-Q1"
    assert "could not pay because your account number" in a2_text  # held: the check digits are wrong
    assert "onder het minimum" in body(by_recipient["a3@example.org"])[0]
    # partner_account: 250 ERE x 0.44 = 110.00, 20 % fee: the partner pays the customer 88.00
    assert "BetaLaad betaalt u €\xa088,00 uit." in body(by_recipient["b1@example.org"])[0]

    prepare_and_approve(data_dir, Quarter(2026, 1))
    assert len(inbox.messages) == 4  # the email log keeps a rerun from mailing twice
    eml = data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "emails" / "A1.eml"
    written = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert written["Message-ID"] == by_recipient["a1@example.org"]["Message-ID"]


def test_the_html_email_rendered_in_headless_chromium_shows_the_breakdown(data_dir, tmp_path):
    world(data_dir, None)
    prepare_and_approve(data_dir, Quarter(2026, 1))  # no SMTP configured: the .eml files only
    eml = data_dir.exports / "2026-Q1" / "payouts" / "alpha" / "emails" / "A1.eml"
    page = tmp_path / "a1.html"
    page.write_text(body(email.message_from_bytes(eml.read_bytes(), policy=email.policy.default))[1])
    dom = dump_dom(page, tmp_path / "chromium-profile", "--blink-settings=imagesEnabled=false")
    assert '<table id="breakdown"' in dom
    rows = [row for row in dom.split("<tr")[1:] if "</td>" in row]
    text = html.unescape(" ".join(rows))
    for label, value in (("Bruto opbrengst", "€\xa0146,39"), ("Servicekosten", "€\xa0-21,96"),
                         ("Aandeel AlphaCharge", "€\xa0-7,32"), ("Netto voor u dit kwartaal", "€\xa0117,11"),
                         ("Uitbetaald", "€\xa0117,11"), ("Rekening", "NL02 **** **** 6789")):
        assert label in text and value in text
    assert 'id="brand"' in dom and "AlphaCharge" in dom


@pytest.mark.parametrize("language, contact, why", [
    ("nl", "Neem contact op met AlphaCharge: klantenservice@alpha.example.",
     "U ontvangt deze e-mail omdat u AlphaCharge heeft gemachtigd"),
    ("en", "Contact AlphaCharge at klantenservice@alpha.example.",
     "You receive this email because you gave AlphaCharge a mandate"),
])
def test_every_payout_email_ends_with_the_partners_contact_and_why_the_customer_gets_it(language, contact, why):
    from datetime import date, datetime, timezone
    from decimal import Decimal

    from joulo_pipelines.lib.partners import Partner
    from joulo_pipelines.lib.payouts.amounts import PayoutLine
    from joulo_pipelines.lib.payouts.emails import EmailRecipient, build_message

    partner = Partner(id="alpha", name="Alpha B.V.", brand={"display_name": "AlphaCharge",
                                                            "sender_email": "klantenservice@alpha.example"},
                      payout_model="direct", service_fee_pct=15, partner_share_pct=5)
    line = PayoutLine("A1", Decimal("812.5"), Decimal("3.25"), "estimate", "0.44", 143, 21, 7, 115, 0, 0, 115, 0,
                      "paid", "")
    message = build_message(partner, Quarter(2026, 1), line, [],
                            EmailRecipient("A1", "Jan de Vries", "a1@example.org", IBAN_A1, language),
                            "direct", date(2026, 5, 1), datetime(2026, 4, 20, tzinfo=timezone.utc))
    text, html = body(message)
    footer = text.split("\n--\n", 1)[1]  # the footer, below a rule
    assert contact in footer and why in footer
    html_footer = html.split('id="footer"', 1)[1]
    assert 'href="mailto:klantenservice@alpha.example"' in html_footer
    html_footer_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html_footer))
    assert contact in html_footer_text and why in html_footer_text
