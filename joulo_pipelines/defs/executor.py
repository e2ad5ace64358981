import pkgutil

import dagster as dg

import joulo_pipelines.defs


def code_location_modules() -> list[str]:
    """The code location's entry point and every module of its defs folder, which it loads when it builds
    its Definitions. Importing them is most of a step process's start (~2.7 s of CPU: dagster-dbt reads
    dbt's manifest, the pandera schemas are built), so the server the steps fork from imports them all."""
    package = joulo_pipelines.defs
    return ["joulo_pipelines.definitions",
            *sorted(module.name for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."))]


# The executor of the jobs the UI and the daemon launch (materializations, quarterly backfills): still a process
# per step, as Dagster's default, but forked from a server that imported the code location once, instead of a
# fresh interpreter per step that imports Dagster, dagster-dbt and dbt again (seconds of CPU each, five steps a
# quarter: the dbt build and the checks of its models). The CLI's jobs run in process and do not use it.
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": code_location_modules()}}}
)


@dg.definitions
def executor() -> dg.Definitions:
    return dg.Definitions(executor=STEP_PROCESSES)
