"""What the CLI and the benchmark run jobs with: the Definitions (after making sure dbt's manifest is
current), the Dagster instance `make ui` uses, and `execute`, which runs a job in this process.

Without the daemon nobody notices a run whose process died (killed, out of memory): it stays "started"
and keeps its slot of the warehouse pool, so every later run would wait for it for ever. So `execute`
tags each run with its process, marks the runs of processes on this machine that are gone as failed and
hands their slots back, and waits for a live holder of the warehouse with a message and a time limit
(JOULO_POOL_WAIT_SECONDS, default 1800) instead of silently. Dagster is imported on first use: the CLI's
quick commands (status, reports of a single partner...) should not pay for it."""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg

PID_TAG, HOST_TAG, STARTED_TAG = "joulo/pid", "joulo/host", "joulo/process_started"
POOL_WAIT_SECONDS = 1800.0
POLL_SECONDS = 1.0


@cache  # loading them (and parsing dbt's manifest) takes seconds; one process needs them once
def definitions() -> dg.Definitions:
    from joulo_pipelines.lib.dbt_manifest import ensure_manifest

    ensure_manifest()
    from joulo_pipelines.definitions import defs

    return defs()


def instance() -> dg.DagsterInstance:
    import dagster as dg

    from joulo_pipelines.lib import dagster_home

    # The same instance config as `make ui`: Postgres when DAGSTER_PG_* says so, the warehouse pool.
    dagster_home.install(dagster_home.dagster_home())
    return dg.DagsterInstance.get()


def execute(job_name: str, **kwargs: Any) -> dg.ExecuteInProcessResult:
    """Run the job here (execute_in_process's arguments), once no live run holds the warehouse; its stages
    shown as cli/console.py says (a line each, or Dagster's log with -v)."""
    from joulo_pipelines.cli import console

    current = instance()
    wait_for_warehouse(current)
    job = definitions().resolve_job_def(job_name)
    run_id = str(uuid.uuid4())  # known before the run starts, to follow its events
    with console.run_stages(current, run_id, job), console.job_output_hidden():
        return job.execute_in_process(instance=current, tags={**kwargs.pop("tags", {}), **_process_tags()},
                                      run_id=run_id, run_config=console.quiet_run_config(kwargs.pop("run_config", None)),
                                      **kwargs)


def _process_tags() -> dict[str, str]:
    import psutil

    # The start time tells this process from a later one that got the same pid.
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(),
            STARTED_TAG: repr(psutil.Process().create_time())}


def _process_alive(tags: dict[str, str]) -> bool:
    import psutil

    try:
        process = psutil.Process(int(tags[PID_TAG]))
        return process.status() != psutil.STATUS_ZOMBIE and repr(process.create_time()) == tags[STARTED_TAG]
    except psutil.NoSuchProcess:
        return False


def release_dead_runs(current: dg.DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs that a joulo process on this machine started and that process is
    gone, and free the pool slots they, or any finished run, still hold. Returns their run ids."""
    import dagster as dg

    unfinished = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    dead = [run for run in current.get_runs(dg.RunsFilter(statuses=unfinished,
                                                          tags={HOST_TAG: socket.gethostname()}))
            if PID_TAG in run.tags and not _process_alive(run.tags)]
    for run in dead:
        current.report_run_failed(run, f"the process that ran it (pid {run.tags[PID_TAG]}) is gone; marked "
                                       "failed by the next joulo command, which freed its pool slots")
    storage = current.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        finished = {run_id for run_id in holders if (run := current.get_run_by_id(run_id)) is None or run.is_finished}
        for run_id in finished | {run.run_id for run in dead}:
            storage.free_concurrency_slots_for_run(run_id)
    return [run.run_id for run in dead]


def wait_for_warehouse(current: dg.DagsterInstance, timeout: float | None = None) -> None:
    """Return once the warehouse pool has a free slot; say who holds it while waiting; raise after
    `timeout` seconds. A plain sleep, so SIGTERM and Ctrl-C end the wait at once."""
    from joulo_pipelines.defs.pools import WAREHOUSE_POOL

    timeout = float(os.environ.get("JOULO_POOL_WAIT_SECONDS", POOL_WAIT_SECONDS)) if timeout is None else timeout
    started, told = time.monotonic(), False
    while True:
        release_dead_runs(current)
        if not current.event_log_storage.supports_global_concurrency_limits:
            return
        info = current.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        limit = info.limit if info.limit is not None else info.slot_count
        if info.limit is None and not info.slot_count or len(info.claimed_slots) < limit:
            return
        holders = ", ".join(sorted(info.active_run_ids))
        if time.monotonic() - started >= timeout:
            raise TimeoutError(
                f"the warehouse ({WAREHOUSE_POOL} pool) is still held by run {holders} after {timeout:.0f} s; if "
                "that run is stuck, stop it, or free its slot in the Dagster UI (Deployment, Concurrency)")
        if not told:
            print(f"waiting for the warehouse: run {holders} holds the {WAREHOUSE_POOL} pool; giving up after "
                  f"{timeout:.0f} s (JOULO_POOL_WAIT_SECONDS)", file=sys.stderr, flush=True)
            told = True
        time.sleep(POLL_SECONDS)
