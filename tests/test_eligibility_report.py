"""`joulo status`'s eligibility section fits on a screen however many reasons a partner has
(lib/eligibility/report.py)."""

import duckdb
from cli_tables import table

from joulo_pipelines.lib.eligibility.report import print_eligibility

REASONS = ["mid_evidence_missing", "meter_serial_missing", "mid_meter_absent", "mid_unit_check_needed",
           "mid_external_meter_needed", "postal_code_invalid", "ean_claimed_by_another_mandate", "iban_invalid",
           "mandate_expired", "mandate_revoked", "mandate_not_whole_years", "mandate_signing_record_missing"]


def test_every_reason_is_listed_with_its_count_on_lines_a_screen_holds(data_dir, capsys):
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_charge_point_eligibility (partner_id varchar, quarter_start date, "
                    "eligibility_status varchar, reasons varchar)")
        # alpha: one eligible charge point, and one not eligible per reason, the i-th reason i + 1 times
        con.execute("insert into marts.fct_charge_point_eligibility values ('alpha', '2026-10-01', 'eligible', null)")
        for i, reason in enumerate(REASONS):
            for _ in range(i + 1):
                con.execute("insert into marts.fct_charge_point_eligibility values "
                            "('alpha', '2026-10-01', 'not_eligible', ?)", [reason])
    print_eligibility(data_dir)
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert table(out, "partner", "charge points", "eligible", "after an action", "not eligible") == [
        {"partner": "alpha", "charge points": "79", "eligible": "1", "after an action": "0", "not eligible": "78"}]
    listed = " ".join(out.split("eligibility_reasons.csv):\n", 1)[1].split())
    assert listed == "alpha: " + ", ".join(f"{reason} {i + 1}" for i, reason in reversed(list(enumerate(REASONS))))
