"""A run whose step waits for a slot of the warehouse pool sleeps until its next claim attempt instead of
spinning a core: in-process (`joulo run`, `joulo ingest`, the demo) and in the multiprocess executor (the
runs the daemon launches, a backfill's).

Dagster's `InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns `min([0, ...])`, never
more than 0, so the in-process executor's "sleep until ready" never sleeps while a step is blocked (upstream
saw it, dagster-io/dagster#20367, not merged), and the multiprocess executor does not sleep at all while
every step it has left is blocked and none runs: the run waiting for another to leave the warehouse takes a
whole core from the run it waits for. Only the wait between two attempts changes, from a busy loop to a sleep,
and only while no step of the run is in flight (a running step's events are never held up).

And the claim is retried every second. Dagster's schedule grows from 1 s to 15 s, while a slot that is freed
is given to the step that waited longest but taken only at that step's next attempt: the warehouse stood
idle until then, the longer the wait the longer the idle (in the Postgres backfill race, 2-5 s at a
hand-over on a quiet machine; under 1 s since). A claim attempt is one small query."""

from __future__ import annotations

import time

from dagster._core.execution.plan import instance_concurrency_context
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import (
    InstanceConcurrencyContext,
)

CLAIM_RETRY_SECONDS = 1.0

_get_steps_to_execute = ActiveExecution.get_steps_to_execute


def _seconds_to_next_claim_attempt(self: InstanceConcurrencyContext) -> float:
    if not self._pending_claims or not self._pending_timeouts:
        return 0.0
    return max(0.0, min(self._pending_timeouts.values()) - time.time())


def _steps_to_execute_or_sleep(self: ActiveExecution, limit: int | None = None):
    steps = _get_steps_to_execute(self, limit)
    if not steps and not self._in_flight:
        self.sleep_til_ready()  # until the next claim attempt (or retry) is due; 0 when nothing is pending
    return steps


def _claim_retry_interval(sleep_interval: float | None, pending_claim_count: int) -> float:
    """In place of Dagster's `_calculate_timeout_interval`: what the storage asks for, or every second."""
    return sleep_interval if sleep_interval is not None else CLAIM_RETRY_SECONDS


def install() -> None:
    instance_concurrency_context._calculate_timeout_interval = _claim_retry_interval
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _seconds_to_next_claim_attempt
    ActiveExecution.get_steps_to_execute = _steps_to_execute_or_sleep
