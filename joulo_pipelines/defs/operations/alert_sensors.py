import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from joulo_pipelines.defs.operations.resources import AlertsResource
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.alerts import Alert, append_to_log, send_email


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Any failed run of this code location: a line in the alerts log, and an email when SMTP is set.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertsResource, data_dir: DataDirResource) -> None:
    step_failures = context.get_step_failure_events()
    errors = [_root_cause(event.event_specific_data.error) for event in step_failures
              if event.event_specific_data.error]
    alert = Alert.run_failed(
        raised_at=clock.now().isoformat(),
        job=context.dagster_run.job_name,
        run_id=context.dagster_run.run_id,
        partition=context.dagster_run.tags.get("dagster/partition"),
        failed_steps=[event.step_key for event in step_failures if event.step_key],
        message=errors[0].message if errors else (context.failure_event.message or ""),
    )
    append_to_log(alerts.log_path(data_dir.data_dir.root), alert)
    smtp = alerts.smtp
    if smtp:
        # Raising here marks the sensor tick failed in the UI, and the line above is already written.
        send_email(smtp, alert)
        context.log.info(f"alert for run {alert.run_id} emailed to {len(smtp.recipients)} recipient(s)")


def _root_cause(error: SerializableErrorInfo) -> SerializableErrorInfo:
    # Dagster wraps the asset's own exception ("Error occurred while executing op ..."); the cause says why.
    while error.cause:
        error = error.cause
    return error
