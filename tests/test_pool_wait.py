"""A run whose step waits for the warehouse pool sleeps between its claim attempts (defs/pool_wait.py), in
process and in the multiprocess executor: Dagster's own loops spin a core meanwhile, taking it from the run
they wait for."""

from __future__ import annotations

import threading
import time

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableJob

from joulo_pipelines.defs import pool_wait
from joulo_pipelines.defs.pools import WAREHOUSE_POOL

BLOCKED_SECONDS = 3.0  # long enough for a busy loop to go round thousands of times, a sleeping one a few


@dg.op(pool=WAREHOUSE_POOL)
def in_the_warehouse() -> int:
    return 1


@dg.job(executor_def=dg.in_process_executor)
def in_process_job():
    in_the_warehouse()


@dg.job(executor_def=dg.multiprocess_executor)
def multiprocess_job():
    in_the_warehouse()


@pytest.mark.parametrize("job", [in_process_job, multiprocess_job], ids=lambda job: job.name)
def test_a_step_blocked_by_the_warehouse_pool_sleeps_until_its_next_claim_and_runs_once_the_slot_is_free(
        job, tmp_path, monkeypatch):
    pool_wait.install()  # as joulo_pipelines.definitions does in every process that runs jobs
    rounds: list[float] = []
    get_steps_to_execute = pool_wait._get_steps_to_execute

    def counted(self, limit=None):
        rounds.append(time.monotonic())
        return get_steps_to_execute(self, limit)

    monkeypatch.setattr(pool_wait, "_get_steps_to_execute", counted)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(WAREHOUSE_POOL, 1)
        assert storage.claim_concurrency_slot(WAREHOUSE_POOL, "the-holder", "dbt_build").is_claimed
        outcome = {}

        def execute():
            with dg.execute_job(ReconstructableJob.for_file(__file__, job.name), instance=instance) as result:
                outcome.update(success=result.success, output=result.output_for_node("in_the_warehouse"))

        thread = threading.Thread(target=execute)
        thread.start()
        time.sleep(BLOCKED_SECONDS)
        blocked_rounds = len(rounds)
        storage.free_concurrency_slots_for_run("the-holder")
        thread.join()
        assert outcome == {"success": True, "output": 1}
    # Claim attempts 1 s apart, then further: a handful of rounds, not a loop going round without sleeping.
    assert 1 <= blocked_rounds <= 3 * BLOCKED_SECONDS, blocked_rounds


def test_a_blocked_claim_is_tried_again_every_second_not_up_to_fifteen(tmp_path):
    """A slot freed by one run is taken by the waiting step at its next attempt; Dagster's own schedule grows
    to 15 s between attempts, the warehouse idle meanwhile. Read from the time each failed attempt sets for
    the next, so the machine's load does not come into it."""
    from dagster._core.execution.plan.instance_concurrency_context import (
        InstanceConcurrencyContext,
    )

    pool_wait.install()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(WAREHOUSE_POOL, 1)
        assert storage.claim_concurrency_slot(WAREHOUSE_POOL, "the-holder", "dbt_build").is_claimed
        run = instance.create_run_for_job(in_process_job)
        intervals = []
        with InstanceConcurrencyContext(instance, run) as context:
            for _ in range(12):  # Dagster's own would be past 2.5 s by the 11th
                assert not context.claim(WAREHOUSE_POOL, "in_the_warehouse")
                intervals.append(context._pending_timeouts["in_the_warehouse"] - time.time())
                context._pending_timeouts["in_the_warehouse"] = 0.0  # due now: the next call tries again
        storage.free_concurrency_slots_for_run("the-holder")
    assert max(intervals) <= pool_wait.CLAIM_RETRY_SECONDS, intervals
