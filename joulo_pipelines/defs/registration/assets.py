import dagster as dg

from joulo_pipelines.defs.partitions import quarterly_partitions
from joulo_pipelines.defs.pools import WAREHOUSE_POOL
from joulo_pipelines.defs.resources import DataDirResource
from joulo_pipelines.lib import warehouse
from joulo_pipelines.lib import clock
from joulo_pipelines.lib.log_scrub import errors_scrubbed, relative_path
from joulo_pipelines.lib.quarters import Quarter
from joulo_pipelines.lib.registration.ledger import ensure_ledger, submitted_booking_ids
from joulo_pipelines.lib.registration.publish import publish_quarter
from joulo_pipelines.lib.registration.reconciliation import MATERIALITY_PCT, reconcile
from joulo_pipelines.lib.registration.unbooked import deadline_status

REV_BOOKING = dg.AssetKey(["registration", "rev_booking"])
REV_RECONCILIATION = dg.AssetKey(["registration", "rev_reconciliation"])


@dg.asset(
    key=REV_BOOKING,
    group_name="registration",
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
    deps=[dg.AssetKey(["marts", "fct_ean_quarter_energy"]),
          dg.AssetKey(["intermediate", "int_customers_latest"])],
    check_specs=[dg.AssetCheckSpec(
        "booking_deadline_watch", asset=REV_BOOKING,
        description="Warns from JOULO_REV_DEADLINE_WARN_DAYS (default 60) days before the year's booking "
                    "deadline (1 March of the next year, JOULO_REV_DEADLINE) while eligible kWh of ended "
                    "quarters are not in a submitted booking.")],
    description="The quarter's REV booking package: exports/<YYYY>-Q<n>/rev/connections.xml, deliveries.xml and "
                "amendments.xml for the register (each validated against its schema in "
                "lib/registration/schemas/) and manifest.json with what is internal. A draft until prepared "
                "(`joulo rev submit`) and approved by a second person (`joulo rev approve`); after that "
                "reproduced from the ledger. Changes to submitted quarters are amendments (the new total) in "
                "the first open quarter, or in a supplementary booking (<YYYY>-S<n>) once the year is submitted.",
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
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "delivery_year": status.delivery_year,
            "deadline": status.deadline.isoformat(),
            "days_left": status.days_left,
            "unsubmitted_ended_quarters": ", ".join(status.unsubmitted_quarters) or "none",
            "unbooked_ean_quarters": status.unbooked_lines,
            "unbooked_kwh_net": str(status.unbooked_kwh),
        },
    )


@dg.asset(
    key=REV_RECONCILIATION,
    group_name="registration",
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
    deps=[REV_BOOKING],
    check_specs=[dg.AssetCheckSpec(
        "issued_units_within_materiality", asset=REV_RECONCILIATION,
        description=f"Fails when the units the REV issued differ from our estimate by more than "
                    f"{MATERIALITY_PCT} % for any EAN or booking made in the quarter.")],
    description="Units the REV issued (`joulo rev import-result`) against our estimate, per EAN and per "
                "booking made in the quarter: exports/<YYYY>-Q<n>/rev/reconciliation.csv.",
)
def rev_reconciliation(context: dg.AssetExecutionContext, data_dir: DataDirResource):
    folder = data_dir.data_dir
    quarter = Quarter.parse(context.partition_key)
    target = folder.exports / quarter.label / "rev" / "reconciliation.csv"
    with errors_scrubbed(folder.root), warehouse.connect(folder, read_only=False) as con:
        result = reconcile(con, quarter.start, target)
    yield dg.MaterializeResult(metadata={"file": relative_path(target, folder.root), "eans_compared": result.compared_eans,
                                         "bookings_compared": result.compared_bookings})
    yield dg.AssetCheckResult(
        check_name="issued_units_within_materiality",
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"eans_compared": result.compared_eans, "bookings_compared": result.compared_bookings,
                  "ean_breaks": result.ean_breaks, "booking_breaks": result.booking_breaks,
                  "bookings_with_breaks": ", ".join(result.break_bookings) or "none"},
    )
