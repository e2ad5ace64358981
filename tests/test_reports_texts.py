"""What the report pages say and how they lay out, rendered from their templates without a warehouse: the
customer table scrolls inside its card; a statement that needs an action says what to do and whom to ask."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from markupsafe import Markup

from joulo_pipelines.lib import labels
from joulo_pipelines.lib.eligibility.rules import reasons
from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports.environment import environment
from joulo_pipelines.lib.reports.queries import Payouts
from joulo_pipelines.lib.reports.statements import empty_months, render_statement
from chromium import dump_dom

PARTNER = Partner(id="voltnet", name="Voltnet B.V.", brand={"display_name": "Voltnet", "colour": "#0b5fff",
                                                            "sender_email": "klantenservice@voltnet.example"},
                  payout_model="direct", service_fee_pct=15, partner_share_pct=5)


def test_the_customer_table_scrolls_inside_its_card_instead_of_overflowing_the_page(tmp_path):
    report = environment.get_template("report.html.j2")
    long_row = ("<tr>" + "".join(f"<td>{'VOL-C00001-with-a-long-unbroken-reference' * 2}</td>" for _ in range(11))
                + "</tr>")
    context = report.new_context({"statements": True, "customer_table_rows": Markup(long_row),
                                  "partner": PARTNER, "brand": PARTNER.brand, "quarter": Quarter(2026, 1)})
    page = tmp_path / "customers.html"
    # The card's own width against the table's, measured by Chromium after layout and written into the DOM.
    page.write_text(
        "<!doctype html><html><head>" + environment.get_template("_style.html.j2").render(brand=PARTNER.brand)
        + "</head><body><main>" + "".join(report.blocks["customers"](context)) + "</main><script>"
        "const card = document.getElementById('customers'), table = document.getElementById('customer-table');"
        "document.body.dataset.measured = [card.scrollWidth <= card.clientWidth,"
        " table.parentElement.scrollWidth > table.parentElement.clientWidth].join(' ');"
        "</script></body></html>", encoding="utf-8")
    dom = dump_dom(page, tmp_path / "profile", "--window-size=800,600")
    # the card holds the table (nothing sticks out of it), and the table's wrapper scrolls sideways
    assert re.search(r'data-measured="([^"]*)"', dom).group(1) == "true true"


def statement(language: str, status: str, *points: tuple[str, str]) -> str:
    """The statement of a customer whose charge points have these (eligibility status, reasons)."""
    quarter = Quarter(2026, 1)
    row = {"customer_ref": "VOL-C00001", "customer_name": "Jan de Vries", "ean": "871685900000000011",
           "language": language, "mandate_valid_from": date(2026, 1, 1), "mandate_valid_until": date(2026, 12, 31),
           "revoked_at": None, "status": status, "kwh": Decimal("812.5"), "sessions": 31,
           "eligible_kwh": Decimal(0), "ere_estimate": Decimal(0), "booking": None, "iban_masked": None,
           "months": empty_months(quarter),
           "charge_points": [{"charge_point_ref": f"VOL-CP{i}", "brand": "Alfen", "model": "Eve Single",
                              "eligibility_status": point_status, "reasons": point_reasons, "kwh": Decimal(400)}
                             for i, (point_status, point_reasons) in enumerate(points)]}
    return unescape(render_statement(PARTNER, quarter, date(2026, 4, 15), row, Payouts("not_computed", "direct")))


@pytest.mark.parametrize("language, heading, mandate, serial", [
    ("nl", "Wat u nu kunt doen", "Teken de machtiging die u van ons ontving.",
     "Stuur ons het serienummer van de meter (op het typeplaatje)."),
    ("en", "What to do next", "Sign the mandate we sent you.", "Send us the meter's serial number (on its type plate)."),
])
def test_a_statement_that_needs_an_action_says_what_to_do_next_and_whom_to_ask(language, heading, mandate, serial):
    html = statement(language, "action_needed", ("action_needed", "mandate_not_signed;meter_serial_missing"),
                     ("not_eligible", "mid_meter_absent"))
    assert heading in html and mandate in html and serial in html
    # whom to ask: the partner's brand and its sender address, as a link
    contact = re.search(r'<p id="contact">(.*?)</p>', html).group(1)
    assert "Voltnet" in contact and 'href="mailto:klantenservice@voltnet.example"' in contact
    # nothing to do about the charger without a MID meter: that one cannot be fixed
    assert labels.STATEMENT_REASONS[language]["mid_meter_absent"] in html
    assert all(step not in html for step in labels.STATEMENT_NEXT_STEPS[language].values()
               if step not in (mandate, serial))


def test_a_statement_with_nothing_to_do_shows_no_next_step():
    for status, point in (("eligible", ("eligible", "")), ("not_eligible", ("not_eligible", "mid_meter_absent"))):
        html = statement("nl", status, point)
        assert 'id="next-step"' not in html and "mailto:" not in html


def test_every_reason_a_customer_can_fix_has_a_next_step_in_every_language():
    for language in labels.STATEMENT:
        fixable = {code for code in labels.STATEMENT_REASONS[language] if reasons()[code].can_be_fixed}
        assert set(labels.STATEMENT_NEXT_STEPS[language]) == fixable
