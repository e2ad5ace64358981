"""The demo's payout configuration: ERE sales of delivery year 2026 and our client-funds account."""

from __future__ import annotations

from joulo_pipelines.lib.paths import DataDir

# Realised 2026 prices sit between EUR 0.38 and 0.48 per ERE (DOMAIN.md). Payouts take the sales first in,
# first out: the first sale covers the issued quarters of a small demo (--scale 0.06: ~90,000 ERE), a full
# one (~1.5 million) reaches the later sales; the four together cover it.
DEMO_SALES = """sale_date,delivery_year,units,price_eur_per_ere,reference
2026-05-12,2026,400000,0.41,DEMO-2026-001
2026-08-20,2026,500000,0.44,DEMO-2026-002
2026-11-10,2026,600000,0.46,DEMO-2026-003
2027-01-08,2026,500000,0.45,DEMO-2026-004
"""

DEMO_PAYMENTS = """# Our client-funds (derdengelden) account pays every payout; the partner is named as ultimate debtor.
client_funds:
  name: Joulo Stichting Derdengelden
  iban: NL20INGB0001234567
sepa_schema: pain.001.001.09      # or pain.001.001.03
minimum_payout_eur: "5.00"        # below it the amount carries over to the next quarter
payment_days_after_quarter: 25    # never before the approval date; weekends and TARGET2 holidays move to the next bank day
# smtp: {host: smtp.example, port: 587, starttls: true, username_env: JOULO_SMTP_USER, password_env: JOULO_SMTP_PASSWORD}
"""


def write_demo_payout_config(data_dir: DataDir) -> None:
    (data_dir.config / "ere_sales.csv").write_text(DEMO_SALES, encoding="utf-8")
    (data_dir.config / "payments.yaml").write_text(DEMO_PAYMENTS, encoding="utf-8")
