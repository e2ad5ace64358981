"""Outputs written again with the same bytes keep their bytes and their file time (lib/paths.py): a rerun
after a late file that changed nothing of theirs leaves them alone."""

import os

from joulo_pipelines.lib.paths import write_if_changed


def test_the_same_bytes_again_leave_the_file_and_its_time_alone(tmp_path):
    target = tmp_path / "exports" / "2026-Q1" / "booking.csv"
    assert write_if_changed(target, b"ean;kwh\n1;2\n")
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert not write_if_changed(target, b"ean;kwh\n1;2\n")
    assert write_if_changed(target, b"ean;kwh\n1;3\n")
    assert target.read_bytes() == b"ean;kwh\n1;3\n" and target.stat().st_mtime_ns != 1_000_000_000
    assert [path.name for path in target.parent.iterdir()] == ["booking.csv"]  # no temporary left behind
