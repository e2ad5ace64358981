import dagster as dg

# The executor of the jobs the UI and the daemon launch (materializations, quarterly backfills): still a process
# per step, as Dagster's default, but forked from a server that imported the code location once, instead of a
# fresh interpreter per step that imports Dagster, dagster-dbt and dbt again (seconds of CPU each, five steps a
# quarter: the dbt build and the checks of its models). The CLI's jobs run in process and do not use it.
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["joulo_pipelines.definitions"]}}}
)


@dg.definitions
def executor() -> dg.Definitions:
    return dg.Definitions(executor=STEP_PROCESSES)
