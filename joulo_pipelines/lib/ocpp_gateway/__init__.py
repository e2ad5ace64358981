"""OCPP gateway: a passive OCPP-J sink (1.6J and 2.0.1) that journals every call durably before it answers,
an importer for CPMS message logs into the same journal, and the landing of closed journal segments.

Plain Python (asyncio, `ocpp`, `websockets`, DuckDB); the Dagster sensor lives in defs/intake/ocpp.py.
"""
