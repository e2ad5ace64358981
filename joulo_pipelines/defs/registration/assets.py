import dagster as dg

from joulo_pipelines.defs.owners import DATA_TEAM
from joulo_pipelines.defs.partitions import ONE_PARTITION_PER_RUN, quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.deadline import DESCRIPTIONS, last_booking_day
from joulo_pipelines.lib.registration.ledger import ensure_ledger, submitted_booking_ids
from joulo_pipelines.lib.registration.publish import publish_quarter
from joulo_pipelines.lib.registration.reconciliation import MATERIALITY_PCT, REV_UNIT_DECIMALS, reconcile
from joulo_pipelines.lib.registration.statement_watch import recorded_statements, statement_watches
from joulo_pipelines.lib.registration.unbooked import deadline_status

REV_BOOKING = dg.AssetKey(["registration", "rev_booking"])
REV_RECONCILIATION = dg.AssetKey(["registration", "rev_reconciliation"])
MAX_LISTED_BREAKS = 20  # in the check's metadata; reconciliation.csv and the run log hold every one


@dg.asset(
    key=REV_BOOKING,
    group_name="registration",
    owners=DATA_TEAM,
    kinds={"duckdb", "xml"},
    partitions_def=quarterly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    pool=WAREHOUSE_POOL,
    deps=[dg.AssetKey(["marts", "fct_ean_quarter_energy"]),
          dg.AssetKey(["intermediate", "int_customers_latest"])],
    check_specs=[
        dg.AssetCheckSpec(
            "booking_deadline_watch", asset=REV_BOOKING,
            description="Warns from JOULO_REV_DEADLINE_WARN_DAYS (default 60) days before the year's last booking "
                        "day (the last Dutch working day before 1 March of the next year) while eligible kWh of "
                        "ended quarters are not in a submitted booking; fails once that day has passed with "
                        "kWh unbooked."),
        *(dg.AssetCheckSpec(
            f"{step}_deadline_watch", asset=REV_BOOKING,
            description=f"Warns from JOULO_REV_DEADLINE_WARN_DAYS (default 60) days before the last day for "
                        f"{DESCRIPTIONS[step]} (the last Dutch working day before 1 {month} of the next year) "
                        "while it is not recorded; fails once that day has passed without it.")
          for step, month in (("verifier_statement", "April"), ("nea_statement", "May"))),
    ],
    description="The quarter's REV booking package: exports/{YYYY}-Q{n}/rev/connections.xml, deliveries.xml and "
                "amendments.xml for the register (each validated against its schema in "
                "lib/registration/schemas/) and manifest.json with what is internal. A draft until prepared "
                "(`joulo rev submit`) and approved by a second person (`joulo rev approve`); after that "
                "reproduced from the ledger. Changes to submitted quarters are amendments (the new total) in "
                "the first open quarter, or in a supplementary booking ({YYYY}-S{n}) once the year is submitted.",
)
def rev_booking(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    quarter = Quarter.parse(context.partition_key)
    today = clock.today()
    with errors_scrubbed(folder.root), warehouse.connect(folder, read_only=False) as con:
        ensure_ledger(con)
        submitted = submitted_booking_ids(con, quarter.year)  # once: the booking and the deadline watch agree
        published = publish_quarter(con, folder, quarter, today, submitted)
        status = deadline_status(con, quarter.year, today, submitted)
        watches = statement_watches(quarter.year, today, recorded_statements(con, quarter.year))
    # Counts and totals only: connections carry names and addresses.
    yield dg.MaterializeResult(metadata={
        "bookings": dg.MetadataValue.json([
            {key: summary[key] for key in ("booking_id", "status", "ean_count", "deliveries", "amendments",
                                            "connections", "kwh_change", "ere_estimate")}
            for summary in published.summaries]),
        "folder": relative_path(folder.exports / quarter.label / "rev", folder.root),
        "unbooked_after_deadline_lines": published.unbooked_lines,
    })
    yield dg.AssetCheckResult(
        check_name="booking_deadline_watch",
        passed=not status.needs_attention,
        # Ahead of the deadline a warning; after it the unbooked kWh are lost to the year: an error.
        severity=dg.AssetCheckSeverity.ERROR if status.is_closed else dg.AssetCheckSeverity.WARN,
        metadata={
            "delivery_year": status.delivery_year,
            "last_booking_day": last_booking_day(status.delivery_year).isoformat(),
            "first_closed_day": status.deadline.isoformat(),
            "days_left": status.days_left,
            "unsubmitted_ended_quarters": ", ".join(status.unsubmitted_quarters) or "none",
            "unbooked_ean_quarters": status.unbooked_lines,
            "unbooked_kwh_net": str(status.unbooked_kwh),
        },
    )
    for watch in watches:
        yield dg.AssetCheckResult(
            check_name=f"{watch.step}_deadline_watch",
            passed=not watch.needs_attention,
            severity=dg.AssetCheckSeverity.ERROR if watch.is_overdue else dg.AssetCheckSeverity.WARN,
            metadata={"delivery_year": watch.delivery_year, "last_day": watch.last_day.isoformat(),
                      "days_left": watch.days_left, "recorded": watch.recorded},
        )


@dg.asset(
    key=REV_RECONCILIATION,
    group_name="registration",
    owners=DATA_TEAM,
    kinds={"xml", "csv"},
    partitions_def=quarterly_partitions,
    backfill_policy=ONE_PARTITION_PER_RUN,
    pool=WAREHOUSE_POOL,
    deps=[REV_BOOKING],
    check_specs=[
        dg.AssetCheckSpec(
            "issued_units_exact", asset=REV_RECONCILIATION,
            description=f"Fails when, for any EAN of a booking made in the quarter, the units the REV issued "
                        f"differ from kWh x the year's factor by more than its rounding ({REV_UNIT_DECIMALS} "
                        f"decimals); the metadata names each break's booking, EAN, figures and factor."),
        dg.AssetCheckSpec(
            "year_within_materiality", asset=REV_RECONCILIATION,
            description=f"Fails when a delivery year's issued units, over all its bookings with a result, "
                        f"differ from kWh x factor by more than {MATERIALITY_PCT} % (the verifier's materiality)."),
    ],
    description="Units the REV issued (`joulo rev import-result`) against kWh x the year's factor, per booking "
                "and EAN for the bookings made in the quarter: exports/{YYYY}-Q{n}/rev/reconciliation.csv.",
)
def rev_reconciliation(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    quarter = Quarter.parse(context.partition_key)
    target = folder.exports / quarter.label / "rev" / "reconciliation.csv"
    with errors_scrubbed(folder.root), warehouse.connect(folder, read_only=False) as con:
        result = reconcile(con, quarter.start, target)
    for found in result.breaks:
        context.log.error(f"REV reconciliation break: {found.describe()}")
    yield dg.MaterializeResult(metadata={"file": relative_path(target, folder.root),
                                         "eans_compared": result.compared_eans, "breaks": len(result.breaks)})
    yield dg.AssetCheckResult(
        check_name="issued_units_exact",
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"eans_compared": result.compared_eans, "breaks": len(result.breaks),
                  "rounding": f"{REV_UNIT_DECIMALS} decimals",
                  "first_breaks": "\n".join(found.describe() for found in result.breaks[:MAX_LISTED_BREAKS]) or "none",
                  "bookings_with_breaks": ", ".join(sorted({found.booking_id for found in result.breaks})) or "none"},
    )
    yield dg.AssetCheckResult(
        check_name="year_within_materiality",
        passed=not result.material_years,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={str(year.delivery_year): f"issued {year.issued_units}, kWh x factor {year.expected_units}"
                  for year in result.years},
    )
