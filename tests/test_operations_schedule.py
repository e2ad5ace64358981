"""The quarterly schedule builds the quarter that just closed, in Dutch time, once per quarter."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pytest

from joulo_pipelines.lib.clock import AMSTERDAM


@pytest.mark.parametrize(("tick", "quarter"), [
    (datetime(2026, 4, 3, 6, tzinfo=AMSTERDAM), "2026-01-01"),
    (datetime(2026, 7, 3, 6, tzinfo=AMSTERDAM), "2026-04-01"),
    (datetime(2026, 10, 3, 6, tzinfo=AMSTERDAM), "2026-07-01"),
    (datetime(2027, 1, 3, 6, tzinfo=AMSTERDAM), "2026-10-01"),
])
def test_each_tick_runs_the_quarter_that_closed_before_it(definitions, tick, quarter):
    schedule = definitions.get_schedule_def("quarter_closed_schedule")
    request = schedule(dg.build_schedule_context(scheduled_execution_time=tick))

    assert request.partition_key == quarter
    assert request.run_key == quarter  # a tick the daemon evaluates twice still makes one run


def test_the_schedule_targets_the_quarter_job_in_dutch_time_after_each_quarter_closes(definitions):
    schedule = definitions.get_schedule_def("quarter_closed_schedule")

    assert schedule.job_name == "quarter_job"
    assert schedule.execution_timezone == "Europe/Amsterdam"
    assert schedule.cron_schedule == "0 6 3 1,4,7,10 *"
