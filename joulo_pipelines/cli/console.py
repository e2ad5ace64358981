"""What every `joulo` command shows besides its own results, on stderr so that stdout stays the results:
which clock is in force (first), each Dagster run as one line per stage with its time and counts (a
progress bar while a stage with many assets runs), and a failure as one line. With `-v`: Dagster's own
log, event by event, and tracebacks instead. `cli.main` sets it up for every command; `runner.execute` uses
it for every run."""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from joulo_pipelines.lib import clock

if TYPE_CHECKING:
    import dagster as dg

# "joulo_pipelines.lib.log_scrub.ScrubbedError: ValueError: " before the message a person reads
_EXCEPTION_NAMES = re.compile(r"^(?:[\w.]*(?:Error|Exception|Failure): )+")
err = Console(stderr=True, highlight=False)
verbose = False  # `joulo -v` / `joulo <command> ... -v`
USAGE_ERROR = 2  # the exit code of an expected failure: wrong input, or a refusal


def say(line: str, style: str | None = None) -> None:
    """A line on stderr, printed as it is (no rich markup: file names may hold brackets)."""
    err.print(Text(line, style=style or ""), soft_wrap=True)


def quiet_run_config(run_config: dict[str, Any] | None) -> dict[str, Any]:
    """The run's config with Dagster's console logger silenced: `run_stages` shows the run instead (its
    stages, or with -v its log), and the run's whole log is still in the Dagster instance (`make ui`)."""
    return {**(run_config or {}), "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@contextmanager
def run_stages(instance: dg.DagsterInstance, run_id: str, job: dg.JobDefinition) -> Iterator[None]:
    """Show run `run_id` while it executes in this process: a line per stage, or with -v each event of
    Dagster's log."""
    with _stderr_outside_the_run() as console:
        stages = None if verbose else _Stages(_assets_per_step(job), console)
        instance.add_event_listener(run_id, stages.on_event if stages else _EventLog(console).on_event)
        with stages.progress if stages else nullcontext():
            yield


@contextmanager
def _stderr_outside_the_run() -> Iterator[Console]:
    """A console on a copy of stderr's file descriptor taken before the run. While a run executes, Dagster
    points descriptors 1 and 2 at its compute log file and copies that file back to the terminal with
    `tail -F`, which it kills when the run ends: what is written in the run's last second, or all of it on
    a loaded machine, never reaches the terminal (dagster-io/dagster#23336). The copy is not redirected.
    Where stderr has no descriptor (a test's capsys), Dagster redirects nothing and `err` is used."""
    try:
        sys.stderr.flush()
        descriptor = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        yield err
        return
    with os.fdopen(descriptor, "w", buffering=1, encoding="utf-8", errors="replace") as stream:
        yield Console(file=stream, highlight=False)


@contextmanager
def job_output_hidden() -> Iterator[None]:
    """What a run's code prints (dbt's log lines, which dagster-dbt echoes) kept off the terminal (not with
    -v): the stage lines say what happened, the run's log is in the Dagster instance."""
    if verbose:
        yield
        return
    with open(os.devnull, "w") as nowhere, redirect_stdout(nowhere):
        yield


def failure_reason(event: Any) -> str:
    """The first line of why a step failed: the raised Failure's description or the error's own message,
    not Dagster's wrapper around it."""
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return data.user_failure_data.description.strip().splitlines()[0]
    error = data.error
    while error is not None and error.cause is not None and "DagsterExecutionStepExecutionError" in error.cls_name:
        error = error.cause
    if error is None or not error.message.strip():
        return "see the Dagster run"
    return _EXCEPTION_NAMES.sub("", error.message.strip().splitlines()[0])


def _assets_per_step(job: dg.JobDefinition) -> dict[str, int]:
    return {assets.node_def.name: len(assets.keys) for assets in job.asset_layer.asset_graph.assets_defs
            if assets.is_executable}


class _EventLog:
    """-v: each event of the run's log as a line, as Dagster's console logger writes it."""

    def __init__(self, console: Console):
        self.console = console

    def on_event(self, entry: Any) -> None:
        event = entry.dagster_event
        when = f"{datetime.fromtimestamp(entry.timestamp, clock.AMSTERDAM):%Y-%m-%d %H:%M:%S %z}"
        line = " - ".join(part for part in (when, entry.run_id[:8], entry.step_key,
                                            event.event_type_value if event else None, entry.user_message) if part)
        if event is not None and event.event_type_value == "STEP_FAILURE" and event.step_failure_data.error:
            line += "\n" + event.step_failure_data.error.to_string()
        self.console.print(Text(line), soft_wrap=True)


class _Stages:
    def __init__(self, assets_per_step: dict[str, int], console: Console):
        self.assets_per_step = assets_per_step
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True,
                                 disable=not console.is_terminal)
        self.tasks: dict[str, Any] = {}
        self.started: dict[str, float] = {}
        self.counts: dict[str, Counter] = {}

    def on_event(self, entry: Any) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        step, kind = event.step_key, event.event_type_value
        if kind == "STEP_START":
            self.started[step], self.counts[step] = time.monotonic(), Counter()
            many = self.assets_per_step.get(step, 0) > 1  # a bar where there is something to count
            self.tasks[step] = self.progress.add_task(step, total=self.assets_per_step[step] if many else None)
        elif kind == "ASSET_MATERIALIZATION" and step in self.tasks:
            self.counts[step]["asset(s)"] += 1
            self.progress.advance(self.tasks[step])
        elif kind == "ASSET_CHECK_EVALUATION" and step in self.counts:
            evaluation = event.event_specific_data
            self.counts[step]["check(s) passed" if evaluation.passed else
                              f"check(s) {evaluation.severity.value.lower()}"] += 1
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and step in self.tasks:
            self.progress.remove_task(self.tasks.pop(step))
            seconds = time.monotonic() - self.started.pop(step)
            counts = ", ".join(f"{n} {what}" for what, n in self.counts.pop(step).items()) or "nothing materialized"
            if kind == "STEP_SUCCESS":
                self.progress.console.print(Text(f"  {step:<44} {seconds:7.1f} s  {counts}"), soft_wrap=True)
            else:
                self.progress.console.print(Text(f"  {step:<44} {seconds:7.1f} s  FAILED: {failure_reason(event)}",
                                                 style="red"), soft_wrap=True)
