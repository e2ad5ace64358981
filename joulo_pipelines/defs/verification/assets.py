"""The verification year, partitioned by delivery year: the population for the verifier with the record of
what the year's bookings rest on (and a check that all of it is still there), our internal controls as
the definitions state them, and the site-visit sheets for the verifier's list. `joulo verification {year}`
does the same from the command line, plus what a person records (the verifier's files, the statement)."""

import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN, yearly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.registration.assets import REV_BOOKING
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path
from joulo_pipelines.lib.registration.ledger import ensure_ledger
from joulo_pipelines.lib.verification import internal_controls, population, retention, site_visits
from joulo_pipelines.lib.verification.store import ensure_verification

POPULATION = dg.AssetKey(["verification", "population"])
INTERNAL_CONTROLS = dg.AssetKey(["verification", "internal_controls"])
SITE_VISIT_SHEETS = dg.AssetKey(["verification", "site_visit_sheets"])


def asset_checks(asset_graph) -> list[internal_controls.AssetCheck]:
    """Every asset check of the definitions (ours and dbt's tests), as plain data for lib/."""
    checks = []
    for key in asset_graph.asset_check_keys:
        spec = asset_graph.get_check_spec(key)
        checks.append(internal_controls.AssetCheck(key.asset_key.to_user_string(), key.name, spec.description,
                                                   spec.blocking))
    return checks


@dg.asset(
    key=POPULATION,
    group_name="verification",
    owners=DATA_TEAM,
    kinds={"duckdb", "csv"},
    partitions_def=yearly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    pool=WAREHOUSE_POOL,
    # The year's four quarters of bookings (the ledger) and the marts their lineage is read from.
    deps=[REV_BOOKING, dg.AssetKey(["marts", "fct_charging_sessions"]), dg.AssetKey(["marts", "fct_ean_quarter_energy"]),
          dg.AssetKey(["intermediate", "int_customers_latest"])],
    check_specs=[dg.AssetCheckSpec(
        "records_retained", asset=POPULATION, blocking=True,
        description="Retention: every raw file, landed file, intake manifest entry and ledger row the year's "
                    "bookings rest on is still there, by its recorded SHA-256 or row count (kept five years "
                    "after the year's verification).")],
    description="The year's population for the verifier under exports/verification/{year}/: every submitted "
                "booking line with its lineage (population.csv, population_quarters.csv, population_sources.csv, "
                "population.json); records what the year's bookings rest on for the retention check.",
)
def verification_population(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    year = int(context.partition_key)
    with errors_scrubbed(folder.root), warehouse.connect(folder, read_only=False) as con:
        ensure_ledger(con)
        ensure_verification(con)
        exported = population.export_population(con, folder, year)
        retention.record(con, folder, year)
        checked, problems = retention.check(con, folder, year)
    yield dg.MaterializeResult(metadata={"folder": relative_path(exported.folder, folder.root),
                                         "booking_lines": exported.lines, "eans": exported.eans,
                                         "kwh": str(exported.kwh), "population_csv_sha256": exported.csv_sha256})
    yield dg.AssetCheckResult(
        check_name="records_retained", passed=not problems,
        # paths name hashes and partners, never people
        metadata={"items_checked": checked, "problems": len(problems),
                  "first_problems": [f"{p.item_kind} {p.item}: {p.what}" for p in problems[:10]]})


@dg.asset(
    key=INTERNAL_CONTROLS,
    group_name="verification",
    owners=DATA_TEAM,
    kinds={"markdown"},
    partitions_def=yearly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    description="exports/verification/{year}/internal_controls.md: the asset checks of these definitions (dbt's "
                "data tests among them) and the test suite's tests, generated for the verifier's file.",
)
def verification_internal_controls(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    year = int(context.partition_key)
    # A run's context knows only its own job's assets; every check is in the code location's definitions.
    from joulo_pipelines.definitions import defs

    checks = asset_checks(defs().get_repository_def().asset_graph)
    target = internal_controls.write(population.folder(folder, year) / "internal_controls.md", year, checks)
    return dg.MaterializeResult(metadata={"file": relative_path(target, folder.root), "asset_checks": len(checks)})


@dg.asset(
    key=SITE_VISIT_SHEETS,
    group_name="verification",
    owners=DATA_TEAM,
    kinds={"duckdb", "html"},
    partitions_def=yearly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    pool=WAREHOUSE_POOL,
    deps=[POPULATION],
    description="A site-visit sheet per partner for the verifier's imported site-visit list "
                "(exports/verification/{year}/site_visits/{partner}.csv): address, contact, charge point and "
                "meter, last reading, what the verifier will check.",
)
def verification_site_visit_sheets(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    year = int(context.partition_key)
    with errors_scrubbed(folder.root), warehouse.connect(folder, read_only=False) as con:
        ensure_ledger(con)
        ensure_verification(con)
        written = site_visits.write_sheets(con, folder, year)
    return dg.MaterializeResult(metadata={"partners": len(written)})


verification_job = dg.define_asset_job(
    "verification_job",
    selection=dg.AssetSelection.groups("verification"),
    executor_def=dg.in_process_executor,
    description="Build one delivery year's verification files (population, internal controls, site-visit sheets).",
)
