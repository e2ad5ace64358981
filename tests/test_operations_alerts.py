"""The run-failure sensor: a real failed run, a line in the alerts log always, and an email over a real
SMTP server on loopback when SMTP is configured; personal data masked in both."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from joulo_pipelines.defs.operations.resources import AlertsResource
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib.alerts import redact
from smtp_server import SmtpServer

CUSTOMER_EMAIL = "jan.jansen@mail.example"
CUSTOMER_IBAN = "NL91ABNA0417164300"


class Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = SmtpServer(inbox)
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


@pytest.fixture
def failed_ingest_run(definitions, data_dir):
    """A real failed run: the partner registry is broken YAML whose error message quotes personal data."""
    data_dir.partners_file.write_text(
        f"partners:\n  - id: alpha\n    contact: {CUSTOMER_EMAIL}: {CUSTOMER_IBAN}\n")
    instance = dg.DagsterInstance.ephemeral()
    result = definitions.resolve_job_def("ingest_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_FAILURE)
    return instance, run, failure


def _evaluate(definitions, instance, run, failure, alerts: AlertsResource) -> None:
    sensor = definitions.get_sensor_def("run_failure_alert")
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=run, dagster_event=failure,
        resources={"alerts": alerts, "data_dir": DataDirResource()},
    ).for_run_failure()
    sensor(context)


def test_a_failed_run_is_emailed_and_logged_with_emails_and_ibans_masked(definitions, failed_ingest_run,
                                                                          data_dir, smtp_server):
    port, inbox = smtp_server
    instance, run, failure = failed_ingest_run
    alerts = AlertsResource(smtp_host="127.0.0.1", smtp_port=port, mail_from="alerts@joulo.example",
                            mail_to="oncall@joulo.example, data@joulo.example")

    _evaluate(definitions, instance, run, failure, alerts)

    [line] = (data_dir.root / "alerts" / "alerts.log").read_text().splitlines()
    alert = json.loads(line)
    assert alert["job"] == "ingest_job" and alert["run_id"] == run.run_id
    assert alert["failed_steps"] == ["landed_files"]
    assert "partners.yaml" in alert["message"] and "<email>" in alert["message"]
    assert alert["raised_at"].startswith("2027-01-1")  # the platform clock (JOULO_AS_OF), not the wall clock
    [(sender, recipients, content)] = inbox.messages
    assert sender == "alerts@joulo.example"
    assert recipients == ["oncall@joulo.example", "data@joulo.example"]
    assert "Subject: [joulo] ingest_job failed" in content and run.run_id in content
    for text in (line, content):
        assert CUSTOMER_EMAIL not in text and CUSTOMER_IBAN not in text


def test_without_smtp_a_failed_run_still_gets_a_line_in_the_alerts_log(definitions, failed_ingest_run, data_dir):
    instance, run, failure = failed_ingest_run
    configured = definitions.resources["alerts"]
    assert configured.smtp is None  # no JOULO_SMTP_HOST in the test environment

    _evaluate(definitions, instance, run, failure, configured)
    _evaluate(definitions, instance, run, failure, configured)

    lines = (data_dir.root / "alerts" / "alerts.log").read_text().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == [run.run_id, run.run_id]


def test_redact_masks_emails_and_ibans_written_either_way_and_keeps_the_rest():
    text = "row 7: jan.de.vries+ere@mail.example, NL91ABNA0417164300 and NL91 ABNA 0417 1643 00 for EAN 871685900000000001"
    assert redact(text) == "row 7: <email>, <iban> and <iban> for EAN 871685900000000001"


def test_the_failure_sensor_and_the_quarterly_schedule_are_on_by_default(definitions):
    assert definitions.get_sensor_def("run_failure_alert").default_status == dg.DefaultSensorStatus.RUNNING
    assert definitions.get_schedule_def("quarter_closed_schedule").default_status == dg.DefaultScheduleStatus.RUNNING
