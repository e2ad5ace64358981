"""The partner dashboard, served by the API process under /dashboard: a partner's people sign in and look
at their quarter, customers and statements. It reads only the read-only snapshot the quarter run publishes
(snapshot.py), never the warehouse, and its accounts live in their own store (accounts.py)."""
