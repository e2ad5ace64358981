from datetime import date, timedelta

import dagster as dg

from joulo_pipelines.defs.jobs import quarter_job
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.quarters import Quarter


def _closed_quarter(tick_date: date) -> Quarter:
    """The quarter before the one `tick_date` falls in."""
    return Quarter.containing(Quarter.containing(tick_date).start - timedelta(days=1))


# On the 3rd of January, April, July and October: partners drop the last month's files in its first
# days, and the sensor keeps landing later corrections (a rerun is idempotent).
@dg.schedule(
    job=quarter_job,
    cron_schedule="0 6 3 1,4,7,10 *",
    execution_timezone="Europe/Amsterdam",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Builds the quarter that just closed, two days after it closed.",
)
def quarter_closed_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    # The tick's own time, so a tick the daemon catches up on later still builds the quarter it was for.
    tick = context.scheduled_execution_time or clock.now()
    quarter = _closed_quarter(tick.astimezone(clock.AMSTERDAM).date())
    return dg.RunRequest(run_key=quarter.partition_key, partition_key=quarter.partition_key,
                         tags={"joulo/quarter": quarter.label})
