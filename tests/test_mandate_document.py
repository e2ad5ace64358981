"""The mandate document over the real path: customers enrolled over HTTP with their signing records, a
quarter built, and `joulo mandate show` giving the verifier the exact consent text, the signing record and
what happened since, including a revocation the partner's platform later sent as active again."""

from __future__ import annotations

import html

import duckdb
import httpx
import pytest

from joulo_pipelines import cli
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.consent_texts import REFERENCE_TEXTS
from joulo_pipelines.lib.eligibility.mandate_document import MandateNotFound, render_mandate_document
from test_api_servers import CONSENT_TEXT_SHA256, ApiServer, enrolment

NL_TEXT = (REFERENCE_TEXTS / "2026-01.nl.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def enrolled(module_data_dir):
    data_dir = module_data_dir
    with ApiServer(data_dir, ApiSettings(rate_limit="100000/minute", deliver_webhooks=False)) as server, \
            httpx.Client(base_url=server.url, headers=server.key("alpha"), timeout=120) as alpha:
        signed = enrolment("C-SIGNED", "871000000000000013", "CP-SIGNED")
        signed["address"]["street"] = "Laan & <Hof>"  # escaped in the HTML, as is in the text
        assert alpha.post("/v1/customers", json=signed, headers={"Idempotency-Key": "signed"}).status_code == 201
        revoked = enrolment("C-REVOKED", "871000000000000020", "CP-REVOKED")
        assert alpha.post("/v1/customers", json=revoked, headers={"Idempotency-Key": "revoked"}).status_code == 201
        assert alpha.delete("/v1/customers/C-REVOKED/mandate").status_code == 200
        # The platform sends the customer again as it had them: active, the same signing.
        assert alpha.post("/v1/customers", json=revoked, headers={"Idempotency-Key": "again"}).status_code == 200
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0
    return data_dir


def test_the_mandate_document_shows_the_exact_consent_text_and_the_signing_record(enrolled, capsys, tmp_path):
    assert cli.main(["mandate", "show", "alpha", "C-SIGNED", "--html", str(tmp_path / "mandate.html")]) == 0
    text = capsys.readouterr().out
    assert f"-----\n{NL_TEXT}-----\n" in text  # byte for byte what the customer ticked
    for shown in ("Anna de Vries", "Laan & <Hof> 12a, 2517AK Den Haag", "871000000000000013",
                  "Moment of the tick: 2026-02-01T10:15:00+01:00", "User id at partner: user-C-SIGNED",
                  "Authenticated by:   otp", "Client IP address:  203.0.113.9",
                  "Client user agent:  Mozilla/5.0 (X11; Linux x86_64)",
                  f"version 2026-01 (nl), SHA-256 {CONSENT_TEXT_SHA256}", "2026-01-01 to 2027-12-31",
                  "Findings (the mandate's reasons in 2026-Q1, the latest quarter built):\n  none\n",
                  "Revoked at:         not revoked"):
        assert shown in text, shown
    page = (tmp_path / "mandate.html").read_text(encoding="utf-8")
    assert f'<pre class="consent-text" id="consent-text">{html.escape(NL_TEXT)}</pre>' in page
    assert "Laan &amp; &lt;Hof&gt;" in page and "<Hof>" not in page


def test_a_revocation_stands_and_the_document_lists_it_and_the_later_active_delivery(enrolled, capsys):
    with duckdb.connect(str(enrolled.warehouse), read_only=True) as con:
        document = render_mandate_document(con, "alpha", "C-REVOKED", fmt="text")
        revoked_at = con.execute("select revoked_at from intermediate.int_customers_latest "
                                 "where customer_ref = 'C-REVOKED'").fetchone()[0]
    assert revoked_at is not None
    assert "Revoked at:         2027-01-15T00:00:00+01:00" in document  # the one clock's now when revoked
    events = document.split("Events:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split("  ")[2].split(":")[0] for line in events] == [
        "enrolled", "revoked", "delivered as active after the revocation"]
    assert "ignored: the revocation stands without a new signing" in events[2]


def test_an_unknown_customer_has_no_document(enrolled, capsys):
    assert cli.main(["mandate", "show", "alpha", "NOBODY"]) == 2
    assert "no customer 'NOBODY' of partner 'alpha'" in capsys.readouterr().err
    with duckdb.connect(str(enrolled.warehouse), read_only=True) as con, pytest.raises(MandateNotFound):
        render_mandate_document(con, "beta", "C-SIGNED")  # another partner's customer is not there for beta
