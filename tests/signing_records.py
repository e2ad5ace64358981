"""Signing records for hand-made customers files (no tests here): a customer without one is never booked
(`mandate_signing_record_missing`), so a test about something else gives its customers one, as a partner
does, and installs the consent texts it names."""

from __future__ import annotations

import csv
import io

from joulo_pipelines.lib.consent_texts import consent_texts, install_reference_texts
from joulo_pipelines.lib.contract import SIGNING_RECORD_COLUMNS
from joulo_pipelines.lib.paths import DataDir

CONSENT_TEXT_VERSION = "2026-01"


def signed(data_dir: DataDir, customers_csv: str, unsigned: tuple[str, ...] = (), delimiter: str = ",") -> str:
    """The customers file with a complete signing record on every row (but those whose customer_ref is in
    `unsigned`), naming our nl consent text, which this installs into the data dir's config."""
    install_reference_texts(data_dir)
    text = next(t for t in consent_texts(data_dir) if t.version == CONSENT_TEXT_VERSION and t.language == "nl")
    rows = list(csv.DictReader(io.StringIO(customers_csv), delimiter=delimiter))
    out = io.StringIO()
    columns = list(rows[0]) + [c for c in SIGNING_RECORD_COLUMNS if c not in rows[0]]
    writer = csv.DictWriter(out, columns, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        if row["customer_ref"] not in unsigned:
            row = {"consent_text_version": text.version, "consent_text_sha256": text.sha256,
                   "signer_user_id": f"user-{row['customer_ref']}", "signer_authentication": "password",
                   "signer_ip": "203.0.113.20", "signer_user_agent": "Mozilla/5.0 (test)", **row}
        writer.writerow(row)
    return out.getvalue()
