from pathlib import Path

import dagster as dg

import joulo_pipelines.defs
from joulo_pipelines.defs import pool_wait, sqlite_engines
from joulo_pipelines.lib.paths import PACKAGE_DIR, SOURCE_CHECKOUT, keep_private

# The code location is the entry point of `dagster dev` and of every run worker: what they write is private,
# a step waiting for the warehouse pool sleeps between its claims (defs/pool_wait.py), and the local SQLite
# instance keeps its engines (defs/sqlite_engines.py).
keep_private()
pool_wait.install()
sqlite_engines.install()


@dg.definitions
def defs() -> dg.Definitions:
    if SOURCE_CHECKOUT:
        return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # An installed wheel has no pyproject.toml to say where the defs folder is: the same folder, named directly.
    return dg.ComponentTree.from_module(defs_module=joulo_pipelines.defs, project_root=PACKAGE_DIR).build_defs()
