import warnings
from pathlib import Path

import dagster as dg

from joulo_pipelines.lib.paths import keep_private

# The code location is the entry point of `dagster dev` and of every run worker: what they write is private.
keep_private()
# quarter_job mixes the dbt models' BackfillPolicy.multi_run(1) with assets that set none, and Dagster warns
# on every load that it uses multi_run(1) for the job: a quarter per run, what every quarter asset means.
warnings.filterwarnings("ignore", message="Asset job quarter_job materializes assets with varying BackfillPolicies")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
