"""Per customer: the checks that need a maintained library rather than SQL (IBAN via schwifty) or that
must agree exactly with the Python used by the MID scan (EAN, postal code). Customers, not sessions: a
Python pass over them is cheap. No personal value leaves this model, only verdicts. has_xml_text: the
customer's booked text (name, address, customer_ref) holds only what XML 1.0 can, by the writers' own rule,
on one line (the booking's schema takes no line breaks in them).
Incremental: a build checks again only the customers whose checked values changed (checked_inputs, a hash
of them and of the rules' code and schwifty's version, differs from the row built) or that are new; a
customer no longer delivered loses its row. The same rows as checking every customer, at a cost that
follows the change."""

import hashlib
from importlib.metadata import version
from pathlib import Path

from duckdb.sqltypes import BOOLEAN, VARCHAR

from joulo_pipelines.lib import ean, xml_text
from joulo_pipelines.lib.eligibility import rules
from joulo_pipelines.lib.eligibility.rules import (
    ean_problem,
    iban_problem,
    is_dutch_postal_code,
)
from joulo_pipelines.lib.xml_text import is_single_line_xml_text

# What the REV booking XML carries of a customer (connection_name is customer_name).
BOOKED_TEXT = ["customer_ref", "customer_name", "street", "house_number", "postal_code", "city"]


CHECKED = ["ean", "iban", *BOOKED_TEXT]
# The rules themselves: a change of their code or of schwifty's IBAN registry checks every customer again.
RULES = hashlib.sha256(b"".join(Path(module.__file__).read_bytes() for module in (rules, ean, xml_text))
                       + version("schwifty").encode()).hexdigest()
# The rules as scalar functions inside DuckDB, named for this model (the models of a build share one DuckDB
# database); each gets NULL as None, as the rules expect. No DataFrame: no pandas to import in every build.
FUNCTIONS = {"ean_problem": (ean_problem, VARCHAR), "iban_problem": (iban_problem, VARCHAR),
             "is_dutch_postal_code": (is_dutch_postal_code, BOOLEAN),
             "is_single_line_xml_text": (is_single_line_xml_text, BOOLEAN)}


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="delete+insert",
               unique_key=["partner_id", "customer_ref"], on_schema_change="append_new_columns")
    # (its pre_hook drop_customers_gone is in the yml: no Jinja in a Python model)
    for name, (function, returns) in FUNCTIONS.items():
        session.create_function(f"int_customer_checks__{name}", function, [VARCHAR], returns,
                                null_handling="special")
    customers = dbt.ref("int_customers_latest").project(
        f"partner_id, {', '.join(CHECKED)}, hash({', '.join(CHECKED)}, '{RULES}') as checked_inputs")
    if dbt.is_incremental and "checked_inputs" in session.sql(f"select * from {dbt.this} limit 0").columns:
        customers = customers.query("customers", f"""
            select * from customers
            anti join {dbt.this} as built using (partner_id, customer_ref, checked_inputs)""")
    xml_text_ok = " and ".join(f"int_customer_checks__is_single_line_xml_text({column})" for column in BOOKED_TEXT)
    return customers.query("customers", f"""
        select partner_id, customer_ref, ean_problem is null as has_valid_ean, ean_problem,
            has_dutch_postal_code, iban_problem is null as has_valid_iban, iban_problem, has_xml_text,
            checked_inputs
        from (
            select partner_id, customer_ref,
                int_customer_checks__ean_problem(ean) as ean_problem,
                int_customer_checks__is_dutch_postal_code(postal_code) as has_dutch_postal_code,
                int_customer_checks__iban_problem(iban) as iban_problem,
                {xml_text_ok} as has_xml_text,
                checked_inputs
            from customers
        )""")
