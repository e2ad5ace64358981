"""What the report pages say and how they lay out, rendered from their templates without a warehouse: the
customer table scrolls inside its card; a statement that needs an action says what to do and whom to ask."""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import Markup

from joulo_pipelines.lib.partners import Partner
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.reports.environment import environment
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
