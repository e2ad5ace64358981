"""`joulo ingest` lands every source with the jobs its sensors and schedule run (the inbox, closed OCPP
journal segments, an OCPI pull per partner), or the one source and partner asked for; `joulo status` then
shows when each partner's sources last delivered."""

from __future__ import annotations

import dagster as dg
import pytest
from cli_tables import table

from conftest import drop
from joulo_pipelines import cli
from joulo_pipelines.defs.intake.ocpp import ocpp_journal_sensor
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.ocpp_gateway.journal import JournalRecord, journal_root, write_closed_segment
from ocpi_server import OcpiServer, make_cdr
from ocpp_clients import make_ocpp_partner
from test_ocpi_pull import TOKEN, add_ocpi_partner

CUSTOMERS = "customer_ref,name,email,iban,postcode,house_number,ean\nC-1,An,an@example.com,,1234AB,1,\n"


def _beta_segment(data_dir) -> None:
    make_ocpp_partner(data_dir, "beta", charge_points=[])
    write_closed_segment(journal_root(data_dir) / "beta", "000000000001", [JournalRecord(
        seq=1, received_at="2026-03-10T18:00:00+00:00", partner_id="beta", charge_point_ref="CP-1",
        ocpp_version="1.6", message_id="m-1", action="Heartbeat", payload={})])


def test_the_journal_sensors_run_request_lands_the_new_segment(data_dir, definitions):
    _beta_segment(data_dir)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"data_dir": DataDirResource(path=str(data_dir.root))})
        [request] = ocpp_journal_sensor(context).run_requests
        result = definitions.resolve_job_def("ocpp_landing_job").execute_in_process(
            instance=instance, run_config=request.run_config)
    assert result.success
    assert len(list((data_dir.landing / "beta" / "ocpp_messages").glob("*.parquet"))) == 1


@pytest.mark.slow  # five Dagster runs in process: about 40 s on a busy machine
def test_ingest_lands_the_sources_and_partners_asked_for_and_status_shows_their_freshness(
        data_dir, monkeypatch, capsys):
    _beta_segment(data_dir)
    drop(data_dir, "alpha", "customers.csv", CUSTOMERS)
    monkeypatch.setenv("OCPI_TOKEN_GAMMA", TOKEN)
    with OcpiServer(TOKEN) as server:
        server.cdrs = [make_cdr("CDR1", "CP1", "2026-02-01T18:00:00Z", "2026-02-01T20:00:00Z", "1.5",
                                "2026-02-10T00:00:00Z")]
        add_ocpi_partner(data_dir, server.url)

        assert cli.main(["ingest", "--source", "ocpp", "--partner", "alpha"]) == 0
        assert not (data_dir.landing / "beta" / "ocpp_messages").exists()
        assert cli.main(["ingest", "--source", "ocpp"]) == 0
        assert len(list((data_dir.landing / "beta" / "ocpp_messages").glob("*.parquet"))) == 1
        assert not (data_dir.landing / "alpha").exists() and not server.requests, "only the source asked for"
        assert cli.main(["ingest"]) == 0
        assert server.requests and (data_dir.landing / "gamma" / "ocpi_cursor.json").exists()
        assert (data_dir.landing / "alpha" / "manifest").exists()
    capsys.readouterr()
    assert cli.main(["ingest", "--partner", "nobody"]) == 2  # one line naming the partners there are
    assert "partner 'nobody' is not in config/partners.yaml; known: alpha" in capsys.readouterr().err

    capsys.readouterr()
    assert cli.main(["status"]) == 0
    rows = {(row["partner"], row["source"]): row
            for row in table(capsys.readouterr().out, "partner", "source", "last", "count", "what")}
    assert rows["beta", "ocpp"]["last"].startswith("2026-03-10T18:00:00")
    assert "messages landed" in rows["beta", "ocpp"]["what"]
    assert rows["gamma", "ocpi"]["last"] != "never" and rows["alpha", "files"]["last"] != "never"
