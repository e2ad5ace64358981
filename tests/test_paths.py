"""paths.replace_atomically and write_atomically, the one way every module writes a file a reader may open
meanwhile (landing, intake, quarantine, OCPI pages, the OCPP journal and credentials, payout files, the
dashboard snapshot)."""

import os
import threading

import pytest

from joulo_pipelines.lib.paths import replace_atomically, write_atomically


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_beside_it(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_bytes(b"old")

    def half_then_crash(temporary):
        temporary.write_bytes(b"ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(target, half_then_crash)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["manifest.json"]


def test_two_threads_writing_one_file_at_once_each_get_their_own_temporary(tmp_path):
    # Both temporaries exist at the same moment: with one shared name, the second rename finds no file.
    target = tmp_path / "inbox" / "alpha" / "sessions.csv"
    both_writing = threading.Barrier(2)
    errors = []

    def write(content: bytes) -> None:
        def slowly(temporary):
            temporary.write_bytes(content)
            both_writing.wait(timeout=10)
        try:
            replace_atomically(target, slowly)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(content,)) for content in (b"first", b"second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in (b"first", b"second")
    assert os.listdir(target.parent) == ["sessions.csv"]


def test_written_bytes_are_private_to_their_user_whatever_the_umask(tmp_path):
    before = os.umask(0o022)
    try:
        write_atomically(tmp_path / "credentials.json", b"{}", durable=True)
    finally:
        os.umask(before)
    assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600
