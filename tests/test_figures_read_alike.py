"""A customer sees one number written one way: the same customer's figures rendered by the statement, the
payout email and the dashboard's customer list (each through its own code, from fixed inputs, no warehouse)
read as the same strings, in Dutch and in English (lib/formatting.py)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from starlette.requests import Request

from joulo_pipelines.lib import labels
from joulo_pipelines.lib.dashboard import queries as dashboard_queries
from joulo_pipelines.lib.dashboard import routes
from joulo_pipelines.lib.dashboard.accounts import User
from joulo_pipelines.lib.dashboard.auth import Member
from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.payouts import emails
from joulo_pipelines.lib.payouts.amounts import PayoutLine
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports.queries import Payouts
from joulo_pipelines.lib.reports.statements import empty_months, render_statement

QUARTER = Quarter(2026, 1)
PARTNER = Partner(id="voltnet", name="Voltnet B.V.", brand={"display_name": "Voltnet", "colour": "#0b5fff",
                                                            "sender_email": "klantenservice@voltnet.example"},
                  payout_model="direct", service_fee_pct=15, partner_share_pct=5)
# 3,298.344 kWh and 13.19337 ERE: more decimals than a person reads, so each page must round them alike.
LINE = PayoutLine("VOL-C00001", Decimal("3298.344"), Decimal("13.193376"), "estimate", "0.452345", 597_79, 89_67,
                  29_89, 478_23, -551_17, 0, 0, -72_94, "carried_over", "")
# What each language must show, written by hand: thousands, decimals, the euro sign and the minus.
EXPECTED = {
    "nl": {"kwh": "3.298,3", "ere": "13,19", "gross": "€ 597,79", "fee": "€ -89,67", "net": "€ 478,23",
           "carried_out": "€ -72,94"},
    "en": {"kwh": "3,298.3", "ere": "13.19", "gross": "€597.79", "fee": "-€89.67", "net": "€478.23",
           "carried_out": "-€72.94"},
}


def statement(language: str) -> str:
    row = {"customer_ref": LINE.customer_ref, "customer_name": "Jan de Vries", "ean": "871685900000000011",
           "language": language, "mandate_valid_from": date(2026, 1, 1), "mandate_valid_until": date(2026, 12, 31),
           "revoked_at": None, "status": "eligible", "kwh": Decimal("3512.25"), "sessions": 31,
           "eligible_kwh": LINE.kwh, "ere_estimate": LINE.units, "booking": None, "iban_masked": None,
           "months": empty_months(QUARTER), "charge_points": []}
    line = {name: getattr(LINE, name) for name in ("gross_cents", "fee_cents", "partner_share_cents", "net_cents",
                                                   "adjustment_cents", "carried_in_cents", "paid_cents",
                                                   "carried_out_cents")}
    payouts = Payouts("approved", "partner_account", payment_date=date(2026, 4, 30), lines={LINE.customer_ref: line})
    return render_statement(PARTNER, QUARTER, date(2026, 4, 15), row, payouts)


def email_text(language: str) -> str:
    recipient = emails.EmailRecipient(LINE.customer_ref, "Jan de Vries", "jan@example.org", None, language)
    _, text, _ = emails.render(PARTNER, QUARTER, LINE, [], recipient, "partner_account", date(2026, 4, 30))
    return text


def dashboard_customers(language: str) -> str:
    """The customer list as the dashboard's page function renders it for a person who chose `language`."""
    request = Request({"type": "http", "method": "GET", "path": "/voltnet/customers", "root_path": "",
                       "query_string": b"", "headers": [], "session": {"language": language}})
    member = Member(User(1, "voltnet", "anna@voltnet.example", "viewer"), PARTNER, language, "token")
    row = {"customer_ref": LINE.customer_ref, "customer_name": "Jan de Vries", "ean": "871685900000000011",
           "status": "eligible", "reasons": "", "kwh": LINE.kwh, "eligible_kwh": LINE.kwh, "ere_estimate": LINE.units}
    page = routes._page(request, "customers.html.j2", member, quarter=QUARTER, built_quarters=[QUARTER], rows=[row],
                        total=1, page=1, pages=1, wanted=dashboard_queries.CustomerFilter(None, None, None),
                        reasons=[], statuses=labels.CUSTOMER_STATUS, query={"quarter": QUARTER.label})
    return page.body.decode()


def cells(html: str, pattern: str) -> list[str]:
    return [unescape(value).replace("\xa0", " ") for value in re.findall(pattern, html)]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_statement_the_email_and_the_dashboard_write_a_customers_figures_alike(language):
    expected = EXPECTED[language]
    page = statement(language)
    on_statement = {figure: cells(page, rf'data-figure="{figure}"[^>]*>([^<]*)<')[0]
                    for figure in ("eligible_kwh", "ere_estimate", "gross_cents", "fee_cents", "net_cents",
                                   "carried_out_cents")}
    t = labels.PAYOUT_EMAIL[language]
    # the plain text's breakdown: a label padded with spaces, then its figure
    in_email = {label: value.replace("\xa0", " ") for label, value in
                re.findall(r"^(\S.*?) {2,}(\S.*)$", email_text(language), re.MULTILINE)}
    on_dashboard = cells(dashboard_customers(language), r'<td class="num">([^<]*)</td>')

    assert [on_statement[f] for f in ("eligible_kwh", "ere_estimate", "gross_cents", "fee_cents", "net_cents",
                                      "carried_out_cents")] == [expected[k] for k in ("kwh", "ere", "gross", "fee",
                                                                                      "net", "carried_out")]
    assert [in_email[t[k]] for k in ("kwh", "units", "gross", "fee", "net", "carried_out")] == [
        expected[k] for k in ("kwh", "ere", "gross", "fee", "net", "carried_out")]
    assert on_dashboard == [expected["kwh"], expected["kwh"], expected["ere"]]
