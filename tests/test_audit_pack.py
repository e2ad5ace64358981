"""`joulo audit-pack`: per EAN of the verifier's imported sample (or named with --ean) the evidence a verifier
traces a booked kWh back through."""

from __future__ import annotations

import csv
import html
import json
import re

import duckdb
import pytest

from joulo_pipelines import cli
from joulo_pipelines.lib.consent_texts import REFERENCE_TEXTS

FILES = {"mandate.json", "charge_points.csv", "eligibility.csv", "sessions.csv", "meter_readings.csv",
         "adjustments.csv", "bookings.csv"}


def test_the_verifiers_sample_gets_every_evidence_file_with_raw_lineage(demo_world_copy):
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "test"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
    with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
        chosen = [row[0] for row in con.execute(
            "select distinct ean from ledger.rev_booking_lines order by ean desc limit 3").fetchall()]
    sample = demo_world_copy.root / "sample.csv"
    sample.write_text("ean\n" + "\n".join(chosen) + "\n")
    assert cli.main(["verification", "2026", "import-sample", str(sample)]) == 0
    assert cli.main(["audit-pack", "--year", "2026"]) == 0
    root = demo_world_copy.exports / "audit" / "2026"
    index = json.loads((root / "index.json").read_text())
    assert [entry["ean"] for entry in index["eans"]] == sorted(chosen)
    assert index["selection"]["method"] == "verifier_sample"
    for ean in chosen:
        mandate = json.loads((root / ean / "mandate.json").read_text())
        assert mandate["mandates"][0]["mandate_valid_from"].startswith("2026")
        documents = {entry["document"] for entry in mandate["mandates"]}
        assert {path.name for path in (root / ean).iterdir()} == FILES | documents
        # the mandate document carries the consent text exactly as the customer saw it, in their language
        with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
            version, language = con.execute(
                "select consent_text_version, consent_text_language from intermediate.int_customers_latest "
                "where ean = ? and partner_id = ? and customer_ref = ?",
                [ean, mandate["mandates"][0]["partner_id"], mandate["mandates"][0]["customer_ref"]]).fetchone()
        text = (REFERENCE_TEXTS / f"{version}.{language}.md").read_text(encoding="utf-8")
        document = (root / ean / mandate["mandates"][0]["document"]).read_text()
        shown = re.search(r'<pre class="consent-text" id="consent-text">(.*?)</pre>', document, re.S).group(1)
        assert html.unescape(shown) == text
        with (root / ean / "sessions.csv").open() as handle:
            sessions = list(csv.DictReader(handle))
        assert sessions and all(row["source_file"] and row["line_number"] and row["source_record"] for row in sessions)
        with (root / ean / "bookings.csv").open() as handle:
            bookings = list(csv.DictReader(handle))
        assert [(b["booking_id"], b["status"]) for b in bookings if b["status"] == "submitted"] == [("2026-Q1", "submitted")]


def test_requested_eans_are_written_and_an_unbooked_ean_is_refused(demo_world_copy, capsys):
    assert cli.main(["rev", "submit", "2026-Q1", "--by", "test"]) == 0
    assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
    with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
        ean = con.execute("select min(ean) from ledger.rev_booking_lines").fetchone()[0]
        sessions_of_ean = con.execute("select partner_id, session_ref from marts.fct_charging_sessions "
                                      "where ean = ? order by all", [ean]).fetchall()
    assert cli.main(["audit-pack", "--year", "2026", "--ean", ean]) == 0
    with (demo_world_copy.exports / "audit" / "2026" / ean / "sessions.csv").open() as handle:
        written = sorted((row["partner_id"], row["session_ref"]) for row in csv.DictReader(handle))
    assert written == sessions_of_ean and len(written) > 10  # a demo customer charges every few days all year
    assert cli.main(["audit-pack", "--year", "2026", "--ean", "871000000000000011"]) == 2
    assert "no booking line in that year" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # we no longer choose a sample: the verifier does
        cli.main(["audit-pack", "--year", "2026", "--sample", "3"])
    assert "unrecognized arguments: --sample 3" in capsys.readouterr().err
