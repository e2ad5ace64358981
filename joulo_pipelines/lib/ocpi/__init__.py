"""OCPI 2.2.1 `cdrs` module, Sender interface: we pull a partner's charge detail records.

client.py knows HTTP and the OCPI envelope, cdrs.py what a spec-shaped CDR is, signed_data.py how to check
OCMF signed meter values, pull.py where pulled pages land. None of them knows a business rule.
"""
