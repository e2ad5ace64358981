"""Which charge point identities a partner has: the `charge_point_ref`s of its landed charge_points files.

Read from the landed Parquet (landing/<partner>/charge_points/<sha256>.parquet), never from the warehouse,
which dbt holds for writing. Landed files are content-addressed and never change, so each is read once; the
folder is listed again only on a miss, and at most every `refresh_seconds`, so unknown identities knocking
all day cost a stat, not a read.
"""

from __future__ import annotations

import time

import pyarrow.parquet as pq

from joulo_pipelines.lib.paths import DataDir


class KnownChargePoints:
    def __init__(self, data_dir: DataDir, refresh_seconds: float = 30.0):
        self.data_dir = data_dir
        self.refresh_seconds = refresh_seconds
        self._refs: dict[str, set[str]] = {}
        self._files_read: dict[str, set[str]] = {}
        self._listed_at: dict[str, float] = {}

    def knows(self, partner_id: str, charge_point_ref: str) -> bool:
        refs = self._refs.setdefault(partner_id, set())
        if charge_point_ref in refs:
            return True
        if time.monotonic() - self._listed_at.get(partner_id, -float("inf")) >= self.refresh_seconds:
            self._read_new_files(partner_id)
        return charge_point_ref in refs

    def _read_new_files(self, partner_id: str) -> None:
        self._listed_at[partner_id] = time.monotonic()
        folder = self.data_dir.landing / partner_id / "charge_points"
        files_read = self._files_read.setdefault(partner_id, set())
        for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
            if path.name not in files_read:
                column = pq.read_table(path, columns=["charge_point_ref"]).column(0)
                self._refs[partner_id].update(ref for ref in column.to_pylist() if ref)
                files_read.add(path.name)
