"""A run executed in-process (`joulo run`, `joulo ingest`, the demo) whose step waits for a slot of the
warehouse pool sleeps until its next claim attempt instead of spinning a core.

Dagster's `InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns `min([0, ...])`, never
more than 0, so the in-process executor's "sleep until ready" never sleeps while a step is blocked: the run
waiting for another to leave the warehouse takes a whole core from the run it waits for (upstream saw it,
dagster-io/dagster#20367, not merged). The claim itself is retried on Dagster's own schedule (1 s growing to
15 s); only the wait between two attempts changes, from a busy loop to a sleep."""

from __future__ import annotations

import time

from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext


def _seconds_to_next_claim_attempt(self: InstanceConcurrencyContext) -> float:
    if not self._pending_claims or not self._pending_timeouts:
        return 0.0
    return max(0.0, min(self._pending_timeouts.values()) - time.time())


def install() -> None:
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _seconds_to_next_claim_attempt
