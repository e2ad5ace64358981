"""The verification year: what an accredited verifier receives and sends back for a delivery year (the
population, their sample and site visits, findings, the statement), its status, our internal controls, and
the retention of everything the year's bookings rest on."""
