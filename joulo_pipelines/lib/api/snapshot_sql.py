"""The warehouse queries behind the API's status snapshot, set-based: DuckDB builds each customer's and
each quarter's JSON document. Decimals leave as strings, so no kWh or ERE ever passes through a float."""

# The customer documents are stored as they always were, as Python's json.dumps(sort_keys=True) wrote
# them: keys sorted, ", " and ": " between items, everything outside printable ASCII escaped. DuckDB writes
# them in that shape itself: keys in sorted order, the separators by hand, each value by to_json (the
# macro json_value), which escapes a string of printable ASCII exactly as Python does. A document with
# anything else (a non-ASCII letter, a control character: see `is_python_json`) is re-formatted in Python.
MACROS = """
create or replace temp macro json_value(value) as coalesce(to_json(value), 'null');
-- a list of strings: to_json writes ["a","b"]; a quote inside an element is escaped, so "," only
-- occurs between elements
create or replace temp macro json_strings(strings) as replace(to_json(strings), '","', '", "');
"""

# Per customer of the latest quarter the pipeline built (up to today): eligibility with every reason,
# kWh and ERE of that quarter's year, the mandate's dates, the last and next payout, and the file the
# customer's row came from (the API compares it with what it accepted since, to say "received" until a
# run has seen the change). Also the verdict's event type and state, which announcements compare.
# Reads snapshot_last_payouts (a temp view) and snapshot_next_payouts (a temp table of NEXT_PAYOUTS).
CUSTOMER_DOCUMENTS = """
with latest as (
    select max(quarter_start) as quarter_start
    from marts.fct_customer_quarter_status
    where quarter_start <= $today
),

-- the customer's status, reasons and year-to-date figures, as the mart defines them for every reader
statuses as (
    select statuses.*
    from marts.fct_customer_quarter_status as statuses
    inner join latest on statuses.quarter_start = latest.quarter_start
),

charge_points as (
    select eligibility.*
    from marts.fct_charge_point_eligibility as eligibility
    inner join latest on eligibility.quarter_start = latest.quarter_start
    where eligibility.customer_ref is not null
),

customers as (
    select customers.*, latest.quarter_start
    from intermediate.int_customers_latest as customers
    cross join latest
    where latest.quarter_start is not null
),

catalogue as (
    select
        reason,
        concat('{"action": ', json_value(action), ', "code": ', json_value(reason), ', "rule": ', json_value(rule), '}')
            as reason_json
    from (
        select reason, rule, action from reference.eligibility_reasons
        union all
        select 'no_charge_point', 'no charge point of this customer was delivered',
            'deliver the customer''s charge point (charge_points file or the API)'
    )
),

-- each charge point with its own status and reasons, so a customer's reasons stay visible per charge point
customer_charge_points as (
    select
        customers.partner_id,
        customers.customer_ref,
        string_agg(
            concat('{"charge_point_ref": ', to_json(charge_points.charge_point_ref),
                   ', "reasons": ', json_strings(coalesce(string_split(charge_points.reasons, ';'), [])),
                   ', "status": ', json_value(charge_points.eligibility_status), '}'),
            ', ' order by charge_points.charge_point_ref
        ) filter (where charge_points.charge_point_ref is not null) as charge_points_json,
        string_agg(to_json(charge_points.charge_point_ref), ', ' order by charge_points.charge_point_ref)
            filter (where charge_points.charge_point_ref is not null) as charge_point_refs_json
    from customers
    left join charge_points
        on customers.partner_id = charge_points.partner_id
        and customers.customer_ref = charge_points.customer_ref
    group by customers.partner_id, customers.customer_ref
),

verdicts as (
    select
        statuses.partner_id,
        statuses.customer_ref,
        '[' || coalesce(customer_charge_points.charge_points_json, '') || ']' as charge_points_json,
        '[' || coalesce(customer_charge_points.charge_point_refs_json, '') || ']' as charge_point_refs_json,
        statuses.status,
        -- the API explains a verdict that is not eligible; an eligible customer's failing charge points
        -- show their reasons in charge_points
        case when statuses.status = 'eligible' then [] else string_split(statuses.reasons, ';') end
            as reason_codes,
        statuses.year_to_date_kwh,
        statuses.year_to_date_eligible_kwh,
        statuses.year_to_date_ere_estimate
    from statuses
    inner join customer_charge_points using (partner_id, customer_ref)
),

-- every reason explained, once per distinct list of reasons (there are few) rather than per customer
explained as (
    select
        verdicts.reason_codes,
        '[' || coalesce(string_agg(catalogue.reason_json, ', ' order by catalogue.reason), '') || ']'
            as reasons_json,
        coalesce(list(catalogue.reason order by catalogue.reason) filter (where catalogue.reason is not null), [])
            as explained_codes
    from (select distinct reason_codes from verdicts) as verdicts
    left join catalogue on list_contains(verdicts.reason_codes, catalogue.reason)
    group by verdicts.reason_codes
),

-- snapshot_next_payouts: per partner the estimate per customer, and (without customer_ref) what the
-- partner's other customers get, or why there is none
next_payouts as (
    select
        partner_id,
        customer_ref,
        unavailable,
        concat('{"amount_cents": ', json_value(amount_cents), ', "payment_date": ', json_value(payment_date),
               ', "quarter": ', json_value(quarter), ', "reason": ', json_value(reason),
               ', "status": ', json_value(status), '}') as next_payout_json
    from snapshot_next_payouts
),

payouts as (
    select
        customers.partner_id,
        customers.customer_ref,
        coalesce(last_payouts.last_payout_json, 'null') as last_payout_json,
        case
            when partner_default.partner_id is null
                then '"next_payout_unavailable": ' || to_json('the partner is not in the registry')
            when partner_default.unavailable is not null
                then '"next_payout_unavailable": ' || to_json(partner_default.unavailable)
            else '"next_payout": ' || coalesce(line.next_payout_json, partner_default.next_payout_json)
        end as next_payout_member
    from customers
    left join snapshot_last_payouts as last_payouts using (partner_id, customer_ref)
    left join next_payouts as line
        on customers.partner_id = line.partner_id
        and customers.customer_ref = line.customer_ref
    left join next_payouts as partner_default
        on customers.partner_id = partner_default.partner_id
        and partner_default.customer_ref is null
),

final as (
    select
        customers.partner_id,
        customers.customer_ref,
        customers.source_file,
        case when verdicts.status = 'eligible' then 'customer.eligible' else 'customer.ineligible' end
            as event_type,
        explained.explained_codes as reason_codes,
        -- concat, not ||: one copy per document rather than one per piece (no piece is null: concat would
        -- leave it out, so a value that can be null goes through json_value)
        concat(
            '{"charge_point_refs": ', verdicts.charge_point_refs_json,
            ', "customer_ref": ', to_json(customers.customer_ref),
            ', "eligibility": {"charge_points": ', verdicts.charge_points_json,
                ', "quarter": ', to_json(year(customers.quarter_start) || '-Q' || quarter(customers.quarter_start)),
                ', "reasons": ', explained.reasons_json,
                ', "status": ', to_json(verdicts.status), '}',
            ', "last_payout": ', payouts.last_payout_json,
            ', "mandate": {"revoked_at": ',
                    json_value(strftime(timezone('UTC', customers.revoked_at), '%Y-%m-%dT%H:%M:%S.%fZ')),
                ', "signed_at": ',
                    json_value(strftime(timezone('UTC', customers.mandate_signed_at), '%Y-%m-%dT%H:%M:%S.%fZ')),
                ', "valid_from": ', json_value(customers.mandate_valid_from),
                ', "valid_until": ', json_value(customers.mandate_valid_until), '}',
            ', ', payouts.next_payout_member,
            ', "year_to_date": {"eligible_kwh": ', to_json(cast(verdicts.year_to_date_eligible_kwh as varchar)),
                ', "ere_estimate": ', to_json(cast(verdicts.year_to_date_ere_estimate as varchar)),
                ', "kwh": ', to_json(cast(verdicts.year_to_date_kwh as varchar)),
                ', "year": ', year(customers.quarter_start), '}',
            '}'
        ) as document
    from customers
    inner join verdicts using (partner_id, customer_ref)
    inner join explained on verdicts.reason_codes is not distinct from explained.reason_codes
    inner join payouts using (partner_id, customer_ref)
)

select
    partner_id,
    customer_ref,
    source_file,
    document,
    -- printable ASCII without escapes: to_json and Python wrote the same bytes
    strlen(document) = length(document) and not contains(document, chr(127)) and not contains(document, '\\')
        as is_python_json,
    event_type,
    -- the verdict as announced: Python's json.dumps([event type, reason codes])
    '[' || to_json(event_type) || ', ' || json_strings(reason_codes) || ']' as state
from final
"""

# Per partner and built quarter: charge points per status and reason, kWh, eligible kWh and ERE.
QUARTER_DOCUMENTS = """
with charge_points as (
    select * from marts.fct_charge_point_eligibility where quarter_start <= $today
),

by_status as (
    select partner_id, quarter_start, map_from_entries(list({'key': eligibility_status, 'value': n})) as statuses
    from (
        select partner_id, quarter_start, eligibility_status, count(*) as n
        from charge_points
        group by all
    )
    group by all
),

by_reason as (
    select partner_id, quarter_start, map_from_entries(list({'key': reason, 'value': n} order by reason)) as reasons
    from (
        select partner_id, quarter_start, reason, count(*) as n
        from (
            select partner_id, quarter_start, unnest(string_split(reasons, ';')) as reason
            from charge_points
            where reasons is not null
        )
        group by all
    )
    group by all
),

totals as (
    select
        partner_id,
        quarter_start,
        count(distinct customer_ref) as customers,
        sum(kwh) as kwh,
        sum(eligible_kwh) as eligible_kwh
    from charge_points
    group by all
),

ere as (
    select partner_id, quarter_start, count(distinct ean) as eligible_eans, sum(eligible_ere_estimate) as ere_estimate
    from marts.fct_ean_quarter_energy
    where eligible_kwh > 0
    group by all
)

select
    totals.partner_id,
    totals.quarter_start,
    to_json({
        'quarter': year(totals.quarter_start) || '-Q' || quarter(totals.quarter_start),
        'as_of': $as_of,
        'customers': totals.customers,
        'charge_points': coalesce(by_status.statuses, map()),
        'reasons': coalesce(by_reason.reasons, map()),
        'eligible_eans': coalesce(ere.eligible_eans, 0),
        'kwh': cast(totals.kwh as varchar),
        'eligible_kwh': cast(totals.eligible_kwh as varchar),
        'ere_estimate': cast(coalesce(ere.ere_estimate, 0) as varchar)
    }) as document
from totals
left join by_status using (partner_id, quarter_start)
left join by_reason using (partner_id, quarter_start)
left join ere using (partner_id, quarter_start)
order by totals.partner_id, totals.quarter_start
"""

# Per partner and booking quarter: what is booked (submitted or still a draft) in the REV ledger.
BOOKINGS = """
select
    partner_id,
    booking_quarter_start as quarter_start,
    case when bool_and(status = 'submitted') then 'submitted' else 'draft' end as status,
    list(distinct booking_id order by booking_id) as booking_ids,
    count(distinct ean) as eans,
    cast(sum(kwh) as varchar) as kwh,
    cast(sum(units) as varchar) as units
from ledger.booked_units
group by all
order by all
"""

# Per partner and submitted booking: the partner's part of it (booking.submitted events).
SUBMITTED_BOOKINGS = """
select
    units.partner_id,
    submissions.booking_id,
    submissions.booking_kind,
    submissions.delivery_year,
    submissions.submitted_at,
    count(distinct units.ean) as eans,
    cast(sum(units.kwh) as varchar) as kwh,
    cast(sum(units.units) as varchar) as units
from ledger.rev_submissions as submissions
inner join ledger.booked_units as units
    on submissions.booking_id = units.booking_id
    and units.status = 'submitted'
group by all
order by all
"""

# Per approved payout batch: its totals (payout.approved and payout.sent events, quarter summaries).
PAYOUT_BATCHES = """
select
    batches.partner_id,
    batches.batch_id,
    batches.quarter_start,
    batches.approved_at,
    batches.payment_date,
    count(*) filter (where lines.paid_cents > 0) as customers_paid,
    coalesce(sum(lines.paid_cents), 0) as paid_cents,
    coalesce(sum(lines.carried_out_cents), 0) as carried_over_cents
from ledger.payout_batches as batches
left join ledger.payout_lines as lines using (batch_id)
group by all
order by all
"""

# Per customer, the latest approved payout line, as the document shows it (see MACROS).
LAST_PAYOUTS = """
select
    lines.partner_id,
    lines.customer_ref,
    concat(
        '{"amount_cents": ', json_value(lines.paid_cents),
        ', "payment_date": ', json_value(cast(batches.payment_date as varchar)),
        ', "quarter": ', json_value(year(lines.quarter_start) || '-Q' || quarter(lines.quarter_start)),
        ', "reason": ', json_value(lines.reason),
        ', "status": ', json_value(lines.status), '}'
    ) as last_payout_json
from ledger.payout_lines as lines
inner join ledger.payout_batches as batches using (batch_id)
qualify row_number() over (partition by lines.partner_id, lines.customer_ref order by lines.quarter_start desc) = 1
"""

# Before the first approval there is no payout ledger, and no last payout.
NO_LAST_PAYOUTS = """
select null::varchar as partner_id, null::varchar as customer_ref, null::varchar as last_payout_json
where false
"""

# The next payout per customer as the payouts stage proposed it on its last run (payouts.next_payouts).
NEXT_PAYOUTS = """
select partner_id, customer_ref, unavailable, quarter, amount_cents, status, reason,
    cast(payment_date as varchar) as payment_date
from payouts.next_payouts
"""

# Before the payouts stage has run there is no proposal: each registry partner ($partners) gets the answer
# the payouts stage gives without its config ($unavailable, labels.PAYOUTS_NOT_CONFIGURED).
NO_NEXT_PAYOUTS = """
select unnest($partners::varchar[]) as partner_id, null::varchar as customer_ref,
    $unavailable::varchar as unavailable, null::varchar as quarter, null::bigint as amount_cents,
    null::varchar as status, null::varchar as reason, null::varchar as payment_date
"""
