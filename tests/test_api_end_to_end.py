"""End to end on a copy of the demo world: a partner's platform enrols customers through the API, the
quarter run picks them up from the landing zone like any file, and the partner sees their status over the
API and hears of it through a signed webhook."""

from __future__ import annotations

import dagster as dg
import duckdb
import httpx

from joulo_pipelines import cli
from joulo_pipelines.defs.api.assets import api_snapshot_after_payouts
from joulo_pipelines.lib.api.app import ApiSettings
from joulo_pipelines.lib.api.delivery import RetryPolicy
from joulo_pipelines.lib.api.snapshot import take_snapshot
from joulo_pipelines.lib.demo.rev_results import write_rev_result
from test_api_servers import ApiServer, WebhookReceiver, enrolment, until

SESSIONS = """session_ref,charge_point_ref,started_at,ended_at,energy_kwh
API-S1,API-CP-1,2026-10-05T19:00:00+02:00,2026-10-05T23:00:00+02:00,21.5
API-S2,API-CP-1,2026-11-12T18:30:00+01:00,2026-11-12T22:00:00+01:00,18.25
"""


def after_payouts_request(instance: dg.DagsterInstance) -> dg.RunRequest:
    """What the sensor `api_snapshot_after_payouts` asks for after the latest successful payouts_job run."""
    run = instance.get_runs(filters=dg.RunsFilter(job_name="payouts_job"), limit=1)[0]
    success = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records[0]
    context = dg.build_run_status_sensor_context(sensor_name="api_snapshot_after_payouts", dagster_instance=instance,
                                                 dagster_run=run, dagster_event=success.event_log_entry.dagster_event)
    return api_snapshot_after_payouts(context)


def test_an_api_enrolment_is_followed_through_the_quarter_run_to_status_and_webhooks(demo_world_copy, definitions):
    settings = ApiSettings(allow_http_webhooks=True, poll_seconds=0.1,
                           retry=RetryPolicy(first_wait_seconds=0.2, max_wait_seconds=1.0))
    with ApiServer(demo_world_copy, settings) as server, WebhookReceiver() as receiver, \
            httpx.Client(base_url=server.url, headers=server.key("voltnet"), timeout=60) as client:
        hook = client.post("/v1/webhooks", json={"url": receiver.url})
        receiver.secret = hook.json()["secret"]
        eligible = enrolment("API-E2E-1", "871000000000000013", "API-CP-1")
        without_meter_serial = enrolment("API-E2E-2", "871000000000000020", "API-CP-2")
        del without_meter_serial["charge_points"][0]["meter_serial"]
        for n, body in enumerate((eligible, without_meter_serial)):
            assert client.post("/v1/customers", json=body, headers={"Idempotency-Key": f"e2e-{n}"}).status_code == 201
        assert client.get("/v1/customers/API-E2E-1").json()["state"] == "received"
        (demo_world_copy.inbox / "voltnet" / "sessions_api_e2e.csv").write_text(SESSIONS)

        assert cli.main(["ingest"]) == 0
        assert cli.main(["run", "--quarter", "2026-Q4"]) == 0

        status = client.get("/v1/customers/API-E2E-1").json()
        assert status["state"] == "processed"
        assert status["eligibility"]["status"] == "eligible" and status["eligibility"]["quarter"] == "2026-Q4"
        assert status["year_to_date"]["kwh"] == status["year_to_date"]["eligible_kwh"] == "39.750000"
        assert status["year_to_date"]["ere_estimate"].startswith("13.2245")  # 39.75 kWh x 0.332694
        # Nothing is approved yet, so the next payout is 2026-Q1's, where this new customer has nothing issued;
        # paid on the approval day at the earliest: the pinned today, 2027-01-15 (a Friday).
        assert status["next_payout"] == {"quarter": "2026-Q1", "amount_cents": 0, "status": "nothing_due",
                                         "reason": "no units issued for this customer yet", "payment_date": "2027-01-15"}
        assert status.get("next_payout_unavailable") is None
        refused = client.get("/v1/customers/API-E2E-2").json()["eligibility"]
        assert refused["status"] == "action_needed"
        assert [r["code"] for r in refused["reasons"]] == ["meter_serial_missing"]
        summary = client.get("/v1/quarters/2026-Q4/summary").json()
        with duckdb.connect(str(demo_world_copy.warehouse), read_only=True) as con:
            eligible = con.execute("select count(*) from marts.fct_charge_point_eligibility where partner_id = "
                                   "'voltnet' and quarter_start = '2026-10-01' and is_eligible").fetchone()[0]
        assert summary["charge_points"]["eligible"] == eligible > 0
        assert summary["booking"]["status"] == "draft"

        until(lambda: len(receiver.received) >= 2, "both customers' webhooks")
        events = {e["data"]["customer_ref"]: e for e in receiver.received if e["type"].startswith("customer.")}
        assert not receiver.refused
        # The demo's own customers were announced by the fixture's runs, before this webhook existed.
        assert set(events) == {"API-E2E-1", "API-E2E-2"}
        assert events["API-E2E-1"]["type"] == "customer.eligible"
        assert events["API-E2E-2"]["type"] == "customer.ineligible"
        assert events["API-E2E-2"]["data"]["reasons"][0]["action"]

        with duckdb.connect(str(demo_world_copy.warehouse)) as con:
            assert take_snapshot(demo_world_copy, con).events == {}  # the same state announces nothing twice

        # Booking and payout: the REV submission by the CLI, the register's result, then the approval; the
        # snapshot job (hourly, and after every payouts_job) announces them.
        assert cli.main(["rev", "submit", "2026-Q1"]) == 0
        assert cli.main(["rev", "approve", "2026-Q1", "--by", "approver"]) == 0  # four eyes
        assert cli.main(["rev", "import-result", str(write_rev_result(demo_world_copy, "2026-Q1"))]) == 0
        snapshot_job = definitions.resolve_job_def("api_snapshot_job")
        assert snapshot_job.execute_in_process(instance=dg.DagsterInstance.get(), partition_key="2026-10-01").success
        until(lambda: receiver.events_of("booking.submitted"), "booking.submitted")
        assert cli.main(["payouts", "prepare", "2026-Q1", "--partner", "voltnet", "--by", "preparer"]) == 0
        assert cli.main(["payouts", "approve", "2026-Q1", "--partner", "voltnet", "--by", "approver"]) == 0
        request = after_payouts_request(dg.DagsterInstance.get())
        assert request.partition_key == "2026-01-01"
        assert snapshot_job.execute_in_process(instance=dg.DagsterInstance.get(),
                                               partition_key=request.partition_key).success
        # Both come from one snapshot; deliveries of equal age go out in event id order, not in the order made.
        until(lambda: receiver.events_of("payout.approved") and receiver.events_of("payout.sent"),
              "payout.approved and payout.sent (its payment date is the clock's today)")
        booked = receiver.events_of("booking.submitted")[0]["data"]
        approved = receiver.events_of("payout.approved")[0]["data"]
        assert booked["booking_id"] == "2026-Q1" and booked["eans"] > 0
        assert approved["quarter"] == "2026-Q1" and approved["paid_cents"] > 0
        q1 = client.get("/v1/quarters/2026-Q1/summary").json()
        assert q1["booking"]["status"] == "submitted" and q1["payout"]["status"] == "sent"
        assert q1["payout"]["paid_cents"] == approved["paid_cents"]
        assert len(receiver.received) == 5 and not receiver.refused

        revoked = client.delete("/v1/customers/API-E2E-1/mandate").json()
        assert revoked["state"] == "received" and revoked["mandate"]["revoked_at"]
        with httpx.Client(base_url=server.url, headers=server.key("laadwerk"), timeout=120) as other:
            assert other.get("/v1/customers/API-E2E-1").status_code == 404
