"""The OCPP gateway end to end: real `ocpp` charge points (1.6J and 2.0.1) over real WebSockets on loopback,
the journal landed by the Dagster job, the quarter built by dbt, and the kWh read back from the mart."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import duckdb
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from websockets.exceptions import InvalidStatus

from joulo_pipelines import cli
from joulo_pipelines.lib.ocpp_gateway.journal import closed_segments
from ocpp_clients import SECRET, SECRET_ENV, charge_point, gateway, make_ocpp_partner


@pytest.fixture
def ocpp_data_dir(data_dir, monkeypatch):
    make_ocpp_partner(data_dir)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return data_dir


def _register(value_wh_text: str, context: str, unit: str = "Wh") -> dict:
    return {"value": value_wh_text, "unit": unit, "context": context,
            "measurand": "Energy.Active.Import.Register"}


async def _session_16(port: int) -> None:
    async with charge_point(port, "CP-16", "1.6") as cp:
        await cp.call(call16.BootNotification(charge_point_model="Home", charge_point_vendor="Alfen"))
        started = await cp.call(call16.StartTransaction(
            connector_id=1, id_tag="TAG1", meter_start=1_000_000, timestamp="2026-03-10T18:00:00+00:00"))
        await cp.call(call16.MeterValues(connector_id=1, transaction_id=started.transaction_id, meter_value=[
            {"timestamp": "2026-03-10T19:00:00+00:00", "sampledValue": [_register("1005.5", "Sample.Clock", "kWh")]},
        ]))
        await cp.call(call16.StopTransaction(
            meter_stop=1_012_345, timestamp="2026-03-10T21:00:00+00:00", transaction_id=started.transaction_id,
            transaction_data=[{"timestamp": "2026-03-10T21:00:00+00:00",
                               "sampledValue": [_register("1012345", "Transaction.End")]}]))


def _event(kind: str, at: str, seq_no: int, reading_kwh: float, context: str, offline: bool = False) -> call201.TransactionEvent:
    return call201.TransactionEvent(
        event_type=kind, timestamp=at, trigger_reason="MeterValuePeriodic", seq_no=seq_no, offline=offline,
        transaction_info={"transaction_id": "TX-201"},
        meter_value=[{"timestamp": at, "sampled_value": [
            {"value": reading_kwh, "context": context, "measurand": "Energy.Active.Import.Register",
             "unit_of_measure": {"unit": "Wh", "multiplier": 3}}]}],
    )


async def _session_201(port: int) -> None:
    async with charge_point(port, "CP-201", "2.0.1") as cp:
        await cp.call(call201.BootNotification(charging_station={"model": "Home", "vendor_name": "Zaptec"},
                                               reason="PowerUp"))
        await cp.call(_event("Started", "2026-03-20T17:00:00+00:00", 0, 2000.0, "Transaction.Begin"))
        # Queued while the charger was offline and sent much later: it counts at its own timestamps.
        await cp.call(_event("Updated", "2026-03-20T18:00:00+00:00", 1, 2004.25, "Sample.Clock", offline=True))
        await cp.call(_event("Ended", "2026-03-20T19:30:00+00:00", 2, 2007.8915, "Transaction.End", offline=True))


def _cpms_log() -> str:
    """A CPMS's export: a 1.6 session of CP-LOG, the CPMS having assigned transactionId 4711."""
    lines = [
        {"timestamp": "2026-02-01T08:00:00Z", "charge_point_id": "CP-LOG",
         "message": [2, "a1", "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 500,
                                                   "timestamp": "2026-02-01T08:00:00Z"}]},
        {"timestamp": "2026-02-01T08:00:01Z", "charge_point_id": "CP-LOG",
         "message": [3, "a1", {"transactionId": 4711, "idTagInfo": {"status": "Accepted"}}]},
        {"timestamp": "2026-02-01T10:00:00Z", "charge_point_id": "CP-LOG",
         "message": json.dumps([2, "a2", "StopTransaction", {"transactionId": 4711, "meterStop": 9500,
                                                             "timestamp": "2026-02-01T10:00:00Z"}])},
        {"timestamp": "not a time", "charge_point_id": "CP-LOG", "message": [2, "a3", "Heartbeat", {}]},
    ]
    return "\n".join(json.dumps(line) for line in lines) + "\n"


def test_sessions_from_real_ocpp_16_and_201_charge_points_and_an_imported_cpms_log_have_their_registers_kwh(
        ocpp_data_dir, definitions, tmp_path, capsys):
    async def traffic():
        async with gateway(ocpp_data_dir) as port:
            await _session_16(port)
            await _session_201(port)

    asyncio.run(traffic())
    log = tmp_path / "cpms_export.jsonl"
    log.write_text(_cpms_log())
    assert cli.main(["ocpp-import", str(log), "--partner", "beta"]) == 0
    assert "line 4 timestamp" in capsys.readouterr().out
    assert cli.main(["ocpp-import", str(log), "--partner", "beta"]) == 0  # the same file again: a no-op
    assert len(closed_segments(ocpp_data_dir)) == 2

    landing = definitions.resolve_job_def("ocpp_landing_job").execute_in_process()
    assert landing.success
    assert cli.main(["run", "--quarter", "2026-Q1"]) == 0

    with duckdb.connect(str(ocpp_data_dir.warehouse), read_only=True) as con:
        sessions = con.execute("""
            select charge_point_ref, started_at, ended_at, meter_start_wh, meter_stop_wh, kwh, source_type
            from marts.fct_charging_sessions where partner_id = 'beta' order by charge_point_ref
        """).fetchall()
        readings = con.execute("""
            select charge_point_ref, register_wh from intermediate.int_meter_readings_unioned
            where source_type = 'ocpp' order by charge_point_ref
        """).fetchall()
    by_cp = {row[0]: row for row in sessions}
    assert set(by_cp) == {"CP-16", "CP-201", "CP-LOG"}
    assert {row[6] for row in sessions} == {"ocpp"}
    assert by_cp["CP-16"][3:5] == (1_000_000, 1_012_345)
    assert str(by_cp["CP-16"][5]) == "12.345000"
    assert str(by_cp["CP-201"][5]) == "7.891500"  # 2,007,891.5 Wh - 2,000,000 Wh, exactly
    # The Ended event was queued offline and arrived months later: the session keeps the charger's times.
    assert (by_cp["CP-201"][1], by_cp["CP-201"][2]) == (datetime(2026, 3, 20, 17, tzinfo=timezone.utc),
                                                        datetime(2026, 3, 20, 19, 30, tzinfo=timezone.utc))
    assert str(by_cp["CP-LOG"][5]) == "9.000000"
    assert readings == [("CP-16", 1_005_500), ("CP-201", 2_004_250)]


def test_the_201_session_keeps_the_chargers_own_timestamps_even_when_queued_offline(ocpp_data_dir):
    async def traffic():
        async with gateway(ocpp_data_dir) as port:
            await _session_201(port)

    asyncio.run(traffic())
    lines = [json.loads(line) for s in closed_segments(ocpp_data_dir) for line in s.read_text().splitlines()]
    ended = next(line for line in lines if line["payload"].get("eventType") == "Ended")
    assert ended["payload"]["offline"] is True and ended["payload"]["timestamp"] == "2026-03-20T19:30:00+00:00"
    assert ended["received_at"] != ended["payload"]["timestamp"]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_wrong_credentials_unknown_partners_and_file_partners_are_refused_in_the_handshake(ocpp_data_dir, version):
    async def attempts():
        async with gateway(ocpp_data_dir) as port:
            outcomes = {}
            for label, partner, username, secret in [
                ("wrong secret", "beta", "CP-1", "guess"),
                ("identity not the url's", "beta", "CP-2", SECRET),
                ("unknown partner", "nobody", "CP-1", SECRET),
                ("files partner", "alpha", "CP-1", SECRET),
            ]:
                try:
                    async with charge_point(port, "CP-1", version, partner=partner, secret=secret,
                                            username=username):
                        outcomes[label] = "accepted"
                except InvalidStatus as refused:
                    outcomes[label] = refused.response.status_code
            async with charge_point(port, "CP-1", version) as cp:
                request = (call16.Heartbeat() if version == "1.6" else call201.Heartbeat())
                outcomes["right credentials"] = bool((await cp.call(request)).current_time)
            return outcomes

    outcomes = asyncio.run(attempts())
    assert outcomes == {"wrong secret": 401, "identity not the url's": 401, "unknown partner": 404,
                        "files partner": 404, "right credentials": True}
