"""A run executed in-process whose step waits for the warehouse pool sleeps between its claim attempts
(lib/pool_wait.py): Dagster's own loop spins a core meanwhile, taking it from the run it waits for."""

from __future__ import annotations

import threading
import time

import dagster as dg
from dagster._core.execution.plan.active import ActiveExecution

from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.lib import pool_wait

BLOCKED_SECONDS = 3.0  # long enough for a busy loop to go round thousands of times, a sleeping one a few


@dg.op(pool=WAREHOUSE_POOL)
def in_the_warehouse() -> int:
    return 1


@dg.job
def warehouse_job():
    in_the_warehouse()


def test_a_step_blocked_by_the_warehouse_pool_sleeps_until_its_next_claim_and_runs_once_the_slot_is_free(
        tmp_path, monkeypatch):
    pool_wait.install()  # as joulo_pipelines.definitions does in every process that runs jobs
    waits: list[float] = []
    sleep_til_ready = ActiveExecution.sleep_til_ready

    def counted(self):
        waits.append(time.monotonic())
        return sleep_til_ready(self)

    monkeypatch.setattr(ActiveExecution, "sleep_til_ready", counted)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(WAREHOUSE_POOL, 1)
        assert storage.claim_concurrency_slot(WAREHOUSE_POOL, "the-holder", "dbt_build").is_claimed
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(
            result=warehouse_job.execute_in_process(instance=instance, raise_on_error=False)))
        thread.start()
        time.sleep(BLOCKED_SECONDS)
        waited = len(waits)
        storage.free_concurrency_slots_for_run("the-holder")
        thread.join()
    # Claim attempts 1 s apart, then further: a handful of waits, not a loop going round without sleeping.
    assert 1 <= waited <= 2 * BLOCKED_SECONDS, waited
    assert outcome["result"].success
    assert outcome["result"].output_for_node("in_the_warehouse") == 1
