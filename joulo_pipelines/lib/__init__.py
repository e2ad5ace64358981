"""Plain Python without Dagster: parsers, checks, writers and the rules they share."""
