"""Compare two data dirs built by `joulo demo` (say on main and on a branch) to show a change of structure
changed no output: the SHA-256 of every file under exports/, and every table and view the two warehouses
share, EXCEPT ALL both ways on the columns they share (a table that gained columns is compared on its old
ones). Prints what differs and exits 1 if anything does.

    JOULO_DATA_DIR=/tmp/before joulo demo   # on main
    JOULO_DATA_DIR=/tmp/after joulo demo    # on the branch
    python scripts/compare_demo_runs.py /tmp/before /tmp/after
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import duckdb


def _hashes(exports: Path) -> dict[str, str]:
    return {str(path.relative_to(exports)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(exports.rglob("*")) if path.is_file()}


def compare_exports(before: Path, after: Path) -> list[str]:
    old, new = _hashes(before / "exports"), _hashes(after / "exports")
    print(f"exports: {len(old)} files before, {len(new)} after")
    differences = [f"only before: {name}" for name in sorted(old.keys() - new.keys())]
    differences += [f"only after: {name}" for name in sorted(new.keys() - old.keys())]
    differences += [f"differs: {name}" for name in sorted(old.keys() & new.keys()) if old[name] != new[name]]
    return differences


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], list[str]]:
    columns: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = ? order by table_schema, table_name, ordinal_position", [catalog]).fetchall():
        columns.setdefault((schema, table), []).append(column)
    return columns


def compare_warehouses(before: Path, after: Path) -> list[str]:
    con = duckdb.connect()
    con.execute(f"attach '{before / 'warehouse.duckdb'}' as before (read_only)")
    con.execute(f"attach '{after / 'warehouse.duckdb'}' as after (read_only)")
    old, new = _tables(con, "before"), _tables(con, "after")
    differences = [f"only before: {'.'.join(key)}" for key in sorted(old.keys() - new.keys())]
    differences += [f"only after: {'.'.join(key)}" for key in sorted(new.keys() - old.keys())]
    for schema, table in sorted(old.keys() & new.keys()):
        shared = [column for column in old[schema, table] if column in new[schema, table]]
        select = ", ".join(f'"{column}"' for column in shared)
        counts = []
        for first, second in (("before", "after"), ("after", "before")):
            counts.append(con.execute(
                f'select count(*) from (select {select} from {first}."{schema}"."{table}" '
                f'except all select {select} from {second}."{schema}"."{table}")').fetchone()[0])
        rows = con.execute(f'select count(*) from before."{schema}"."{table}"').fetchone()[0]
        extra = sorted(set(new[schema, table]) - set(shared))
        print(f"{schema}.{table}: {rows} rows, only before {counts[0]}, only after {counts[1]}"
              + (f" (compared without the new columns {', '.join(extra)})" if extra else ""))
        if any(counts):
            differences.append(f"differs: {schema}.{table} (only before {counts[0]}, only after {counts[1]})")
    return differences


def main(before: str, after: str) -> int:
    differences = compare_exports(Path(before), Path(after)) + compare_warehouses(Path(before), Path(after))
    print("\n".join(differences) if differences else "no difference")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
