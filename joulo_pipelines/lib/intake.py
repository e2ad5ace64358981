"""File-drop intake: keep the original bytes, parse them with DuckDB, land typed rows, quarantine the rest.

One file at a time, set-based inside the file: DuckDB reads every cell as text, then one SQL pass per
column type finds the cells that break the contract. Good rows land as Parquet with lineage (file hash
and line number); bad rows and their reasons go to quarantine/. Nothing here knows business rules.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import duckdb

from joulo_pipelines.lib import people_csv
from joulo_pipelines.lib.contract import (
    ACCEPTED,
    CONTROL_CHARACTERS,
    EMAIL_PATTERN,
    DUCKDB_TYPES,
    MAX_HEADER_BYTES,
    MAX_LINE_BYTES,
    REF_MAX_LENGTH,
    REF_PATTERN,
    Column,
    Dataset,
    accepted_file_names,
    dataset_for_file,
    visible,
)
from joulo_pipelines.lib.evidence_documents import EVIDENCE_FOLDER, DocumentRejected, keep, split_file_name
from joulo_pipelines.lib.landing import ensure_landing_schemas
from joulo_pipelines.lib.paths import DataDir, replace_atomically, write_atomically

ERROR_COLUMNS = ("file", "row", "column", "value", "reason")
# The time of day followed by Z or +hh:mm / -hhmm / +hh: an explicit UTC offset.
_OFFSET_RE = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)$"
# The shape of a number of each numeric type; one that has it but does not fit the type is too large.
_NUMBER_RE = {"integer": r"-?\d+", "decimal": r"-?\d+(\.\d+)?"}
_TOO_LARGE = {
    "integer": "is too large for a whole number: between -9223372036854775808 and 9223372036854775807",
    "decimal": "is too large: between -999999999999.999999 and 999999999999.999999",
}
# The control characters no cell may hold, as the bytes they are in UTF-8 (never part of another character),
# line ends left out: a file with none of them, read one row per line, has no cell that holds one.
_CONTROL_BYTES = bytes(b for b in range(128) if re.fullmatch(f"[{CONTROL_CHARACTERS}]", chr(b)) and b not in b"\r\n")


@dataclass
class RowError:
    row: int  # line in the file, the header being line 1
    column: str
    value: str | None
    reason: str


@dataclass
class IntakeResult:
    source_file: str  # path below inbox/, e.g. voltnet/sessions_2026-03.csv
    partner_id: str
    dataset: str | None
    file_sha256: str | None  # None for an inbox entry the intake does not read (a symbolic link, a FIFO)
    status: str  # landed | landed_with_errors | rejected | duplicate
    rows_total: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    report_path: str | None = None
    entry_key: str | None = None  # names the records of an entry without bytes to hash

    @property
    def record_name(self) -> str:
        """The name of the file's manifest entry and quarantine report."""
        return self.file_sha256 or f"entry-{self.entry_key}"

    def summary(self) -> dict:
        """What may be shown in logs and Dagster metadata: counts and reasons, never cell values."""
        by_reason: dict[str, int] = {}
        for error in self.errors:
            key = f"{error.column}: {error.reason}"
            by_reason[key] = by_reason.get(key, 0) + 1
        return {
            "file": self.source_file,
            "dataset": self.dataset,
            "status": self.status,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "errors_by_reason": by_reason,
            "first_error_rows": sorted({e.row for e in self.errors})[:10],
        }


class _FileRejected(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(e.reason for e in errors))
        self.errors = errors


class _FileRead(NamedTuple):
    sha256: str
    long_line: int | None  # the first line longer than MAX_LINE_BYTES
    physical_lines: int | None  # lines ended by \n or \r\n; None when a bare \r makes the count ambiguous
    has_control_bytes: bool  # a byte of _CONTROL_BYTES anywhere


def _read_once(path: Path) -> _FileRead:
    """What the intake needs of a file's bytes, in one read: its SHA-256; the number of its first line longer
    than MAX_LINE_BYTES (None if none is), lines ending at \n, \r\n or a bare \r; its physical lines, ended
    by \n or \r\n (a last line without one counts too; None when a bare \r, which a CSV reader may also take
    for a line end, makes the count ambiguous); whether it has a control byte other than a line end. A line
    can only outgrow the limit across chunks, as no chunk is longer than the limit."""
    digest = hashlib.sha256()
    line, since_end, too_long, has_control = 1, 0, None, False
    newlines, bare_cr, pending_cr, ends_with_newline = 0, False, False, True
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(MAX_LINE_BYTES), b""):
            digest.update(chunk)
            has_control = has_control or len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk)
            lf, cr, crlf = chunk.count(b"\n"), chunk.count(b"\r"), chunk.count(b"\r\n")
            # a \r that ends a chunk is bare unless the next one starts with \n
            bare_cr = bare_cr or (pending_cr and not chunk.startswith(b"\n")) or cr - crlf - chunk.endswith(b"\r") > 0
            pending_cr, ends_with_newline = chunk.endswith(b"\r"), chunk.endswith(b"\n")
            newlines += lf
            if too_long is not None:
                continue
            ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
            if since_end + (min(ends) if ends else len(chunk)) > MAX_LINE_BYTES:
                too_long = line
            elif ends:
                line += lf + cr - crlf
                since_end = len(chunk) - max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) - 1
            else:
                since_end += len(chunk)
    physical_lines = None if bare_cr or pending_cr else newlines + (not ends_with_newline)
    return _FileRead(digest.hexdigest(), too_long, physical_lines, has_control)


def inbox_files(data_dir: DataDir) -> list[Path]:
    """Every entry the intake takes up, in a stable order: inbox/<partner>/<file>, and also the entries it
    will refuse with a reason rather than read (symbolic links, FIFOs, a partner folder that is a link)."""
    if not data_dir.inbox.exists():
        return []
    entries = []
    for folder in data_dir.inbox.iterdir():
        if folder.name.startswith("."):
            continue
        if folder.is_symlink():
            entries.append(folder)
        elif folder.is_dir():
            entries += [p for p in _listing(folder) if not p.name.startswith(".") and not _is_real_folder(p)]
            evidence = folder / EVIDENCE_FOLDER
            if _is_real_folder(evidence):  # per-unit MID evidence: lib/eligibility/unit_evidence.py
                entries += [p for p in _listing(evidence) if not p.name.startswith(".") and not _is_real_folder(p)]
    return sorted(entries)


def _listing(folder: Path) -> list[Path]:
    """A partner folder's entries; none if it cannot be listed (inbox_not_read says why), so one partner's
    folder permissions do not stop the others' files."""
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def inbox_not_read(data_dir: DataDir) -> list[tuple[str, str]]:
    """(entry below inbox/, why) for what the intake leaves in the inbox without taking it up: hidden files
    (uploads in progress, by convention), subfolders and files outside a partner folder. Reported as they
    are now, not recorded: an upload in progress is renamed when complete and then lands."""
    if not data_dir.inbox.exists():
        return []
    found = []
    for folder in sorted(data_dir.inbox.iterdir()):
        if folder.name.startswith("."):
            found.append((folder.name, _HIDDEN))
        elif folder.is_symlink():
            continue  # refused by the intake itself, and recorded
        elif not folder.is_dir():
            found.append((folder.name, "is not in a partner folder; files go in inbox/<partner>/"))
        elif not os.access(folder, os.R_OK | os.X_OK):
            found.append((folder.name, "cannot be listed by the intake (permissions)"))
        else:
            for entry in _listing(folder):
                name = f"{folder.name}/{entry.name}"
                if entry.name.startswith("."):
                    found.append((name, _HIDDEN))
                elif _is_real_folder(entry) and entry.name != EVIDENCE_FOLDER:
                    found.append((name, "is a subfolder; subfolders are not read, files go directly in "
                                        f"inbox/{folder.name}/"))
    return found


_HIDDEN = "is hidden (its name starts with '.'), taken for an upload in progress; rename it when complete"


def _is_real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _entry_refusal(data_dir: DataDir, relative: str, path: Path) -> str | None:
    """Why an inbox entry is not read at all, or None for a regular file. Links are refused rather than
    followed: they could point at another partner's inbox or at any file on the machine."""
    partner_folder = data_dir.inbox / relative.split("/", 1)[0]
    if partner_folder.is_symlink():
        return (f"the partner folder inbox/{partner_folder.name} is a symbolic link; the intake reads only "
                "folders and files delivered into the inbox itself")
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return "is a symbolic link; the intake reads only files delivered into the inbox itself"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a folder, FIFO, socket or device); only regular files are read"
    if not os.access(path, os.R_OK):
        return "cannot be read by the intake (permissions); it lands once it can be read"
    return None


def ingest_files(data_dir: DataDir, partner_ids: list[str],
                 paths: list[Path]) -> list[tuple[Path, IntakeResult | Exception]]:
    """Land files, each with its result or the exception that stopped it (one broken file must not stop the
    others), in the order given.

    Partners land side by side in threads: hashing, copying and counting lines leave a core idle that
    another partner's DuckDB parse can use. A partner's own files land one after the other, in the order
    given (MID evidence last), so a file dropped twice is still recognised as a duplicate."""
    data_dir.ensure()
    ensure_landing_schemas(data_dir)  # before the threads, which would all find it missing
    by_partner: dict[Path, list[Path]] = {}
    # inbox/<partner>/<file>, and inbox/<partner>/evidence/<file> after the partner's other files: a
    # document of evidence needs its charge point landed first.
    for path in sorted(paths, key=lambda p: _is_evidence(data_dir, p)):
        by_partner.setdefault(path.parent.parent if _is_evidence(data_dir, path) else path.parent, []).append(path)

    earlier, _ = landed_deliveries(data_dir, {partner for path in paths if (partner := _partner_of(data_dir, path))})

    def land(partner_paths: list[Path]) -> list[tuple[Path, IntakeResult | Exception]]:
        landed: list[tuple[Path, IntakeResult | Exception]] = []
        for path in partner_paths:
            try:
                landed.append((path, ingest_file(data_dir, partner_ids, path, earlier)))
            except Exception as exc:  # reported by the caller, with the others' results
                landed.append((path, exc))
        return landed

    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        results = dict(item for landed in pool.map(land, by_partner.values()) for item in landed)
    return [(path, results[path]) for path in paths]


def _is_evidence(data_dir: DataDir, path: Path) -> bool:
    return path.parent.name == EVIDENCE_FOLDER and path.parent.parent.parent == data_dir.inbox


def _relative(data_dir: DataDir, path: Path) -> str:
    # Normalised without following links, which name what was delivered and may point anywhere.
    return Path(os.path.abspath(path)).relative_to(os.path.abspath(data_dir.inbox)).as_posix()


def _partner_of(data_dir: DataDir, path: Path) -> str | None:
    """The partner folder a path is in; None for a path outside the inbox (ingest_file refuses it)."""
    try:
        return _relative(data_dir, path).split("/", 1)[0]
    except ValueError:
        return None


def ingest_file(data_dir: DataDir, partner_ids: list[str], path: Path,
                landed: Mapping[tuple[str, str], tuple[str | None, int | None]] | None = None) -> IntakeResult:
    """Land one dropped file. Idempotent: the same bytes from the same partner a second time do nothing.
    `landed` (landed_deliveries of the file's partner) spares reading a file the intake took up as it is now."""
    data_dir.ensure()
    ensure_landing_schemas(data_dir)
    relative = _relative(data_dir, path)
    partner_id = relative.split("/", 1)[0]
    refusal = _entry_refusal(data_dir, relative, path)
    if refusal:
        return _refuse_entry(data_dir, partner_ids, path, relative, refusal)
    is_evidence = relative.count("/") == 2 and relative.split("/")[1] == EVIDENCE_FOLDER
    if landed is not None and partner_id in partner_ids and not is_evidence:
        # The same name, delivery time and size as a delivery already taken up, as the inbox sensor sees it:
        # its result again, without hashing the file (a national partner's inbox holds gigabytes).
        earlier = landed.get(delivery_key(relative, path))
        # (an entry refused unread, a link or a folder, has no SHA-256 to be a duplicate of)
        if earlier is not None and earlier[0] is not None and earlier[1] == path.stat().st_size:
            result = IntakeResult(relative, partner_id, None, earlier[0], "landed")
            if _is_duplicate(_manifest_path(data_dir, result), result):
                return result
    read = _read_once(path)
    sha, long_line = read.sha256, read.long_line
    _keep_raw_bytes(data_dir, path, sha)
    if is_evidence:
        return _ingest_evidence(data_dir, partner_ids, path, IntakeResult(relative, partner_id, "mid_evidence", sha,
                                                                          "landed"))
    dataset = dataset_for_file(path.name)
    result = IntakeResult(relative, partner_id, dataset.name if dataset else None, sha, "landed")

    if partner_id not in partner_ids:
        # Not recorded as processed: once the partner is registered, the same bytes land normally.
        result.status = "rejected"
        result.errors = [RowError(0, "", partner_id, f"partner {partner_id!r} is not in config/partners.yaml; "
                                  f"registered: {', '.join(partner_ids) or 'none'}")]
        _write_quarantine(data_dir, result, path, quarantine_dir=data_dir.quarantine / "_unregistered")
        return result

    manifest = _manifest_path(data_dir, result)
    if _is_duplicate(manifest, result):
        return result

    received_at = delivered_at(path)
    try:
        if dataset is None:
            raise _FileRejected([RowError(0, "", path.name, f"unknown file name; accepted: {accepted_file_names()}")])
        if long_line is not None:
            raise _FileRejected([RowError(long_line, "", None, f"line {long_line} is longer than "
                                          f"{MAX_LINE_BYTES >> 20} MiB, the most a line of a partner file may "
                                          "hold; the file is not read")])
        _parse_and_land(data_dir, path, dataset, result, received_at, read)
    except _FileRejected as rejected:
        result.status = "rejected"
        result.errors = rejected.errors
    if result.errors:
        _write_quarantine(data_dir, result, path, quarantine_dir=data_dir.quarantine / partner_id)
    write_atomically(manifest, json.dumps(_manifest_entry(result, received_at, path.stat().st_size),
                                           indent=2).encode())
    return result


def _ingest_evidence(data_dir: DataDir, partner_ids: list[str], path: Path, result: IntakeResult) -> IntakeResult:
    """A document of MID evidence for one charge point (inbox/<partner>/evidence/<charge_point_ref>__<name>),
    kept by lib/evidence_documents.py, which knows it again when dropped twice. No manifest entry: its receipt
    is the record. A file that cannot be taken is quarantined with why."""
    quarantine_dir = data_dir.quarantine / (result.partner_id if result.partner_id in partner_ids else "_unregistered")
    result.rows_total = 1
    try:
        if result.partner_id not in partner_ids:
            raise DocumentRejected(f"partner {result.partner_id!r} is not in config/partners.yaml; registered: "
                                   f"{', '.join(partner_ids) or 'none'}")
        charge_point_ref, _ = split_file_name(path.name)
        received_at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        _, new = keep(data_dir, result.partner_id, charge_point_ref, path.name, path.read_bytes(), "inbox",
                      received_at)
    except DocumentRejected as rejected:
        result.status, result.rows_rejected = "rejected", 1
        result.errors = [RowError(0, "", path.name, str(rejected))]
        _write_quarantine(data_dir, result, path, quarantine_dir)
        return result
    result.status, result.rows_loaded = ("landed", 1) if new else ("duplicate", 0)
    return result


def _refuse_entry(data_dir: DataDir, partner_ids: list[str], path: Path, relative: str,
                  reason: str) -> IntakeResult:
    """Record, once, an inbox entry the intake does not read: its quarantine report and manifest entry are
    named by its path and when it or its inode changed (a link replaced, permissions granted), as there are
    no bytes to hash."""
    partner_id = relative.split("/", 1)[0]
    entry = path.lstat()
    changed = entry.st_mtime_ns
    key = hashlib.sha256(f"{relative}\0{changed}\0{entry.st_ctime_ns}".encode()).hexdigest()
    result = IntakeResult(relative, partner_id, None, None, "rejected", entry_key=key,
                          errors=[RowError(0, "", None, reason)])
    if partner_id not in partner_ids:
        _write_quarantine(data_dir, result, path, quarantine_dir=data_dir.quarantine / "_unregistered")
        return result
    manifest = _manifest_path(data_dir, result)
    if _is_duplicate(manifest, result):
        return result
    _write_quarantine(data_dir, result, path, quarantine_dir=data_dir.quarantine / partner_id)
    received_at = datetime.fromtimestamp(changed / 1e9, timezone.utc)
    write_atomically(manifest, json.dumps(_manifest_entry(result, received_at, None), indent=2).encode())
    return result


def delivered_at(path: Path) -> datetime:
    """When the partner delivered the file: its modification time, kept as the manifest's received_at."""
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def delivery_key(source_file: str, path: Path) -> tuple[str, str]:
    """How landed_deliveries names a delivery: its path below inbox/ and its delivery time as the manifest
    keeps it. One key for the inbox sensor and the intake, so both take the same file for the same delivery."""
    return source_file, delivered_at(path).isoformat()


def landed_deliveries(data_dir: DataDir, partner_ids: set[str]
                      ) -> tuple[dict[tuple[str, str], tuple[str | None, int | None]], set[str]]:
    """(source_file, received_at) of every delivery of these partners the intake has taken up, whoever ran
    it (a sensor's run, `joulo ingest`, the demo), with the SHA-256 and size it had: what the inbox sensor need
    not run again, and what the intake need not read again. Read partner by partner: a partner with a manifest
    entry DuckDB cannot read (cut short) adds none and is in the second value, so that its files are read
    again, only the file of the broken entry fails, and the other partners' deliveries stand."""
    deliveries: dict[tuple[str, str], tuple[str | None, int | None]] = {}
    unreadable: set[str] = set()
    with duckdb.connect() as con:
        for partner_id in sorted(partner_ids):
            manifests = [str(path) for path in (data_dir.landing / partner_id / "manifest").glob("*.json")]
            if not manifests:
                continue
            try:
                rows = con.execute("""
                    select source_file, received_at, file_sha256, size_bytes
                    from read_json(?, columns = {source_file: 'VARCHAR', received_at: 'VARCHAR',
                                                 file_sha256: 'VARCHAR', size_bytes: 'BIGINT'})
                    """, [manifests]).fetchall()
            except duckdb.Error:
                unreadable.add(partner_id)
                continue
            deliveries.update({(source_file, received_at): (sha, size) for source_file, received_at, sha, size in rows})
    return deliveries, unreadable


def _manifest_path(data_dir: DataDir, result: IntakeResult) -> Path:
    return data_dir.landing / result.partner_id / "manifest" / f"{result.record_name}.json"


def _is_duplicate(manifest: Path, result: IntakeResult) -> bool:
    """True, and the result made a duplicate of the earlier one, when the manifest entry exists."""
    if not manifest.exists():
        return False
    previous = json.loads(manifest.read_text())
    result.status = "duplicate"
    result.dataset = previous["dataset"]
    result.rows_total = previous["rows_total"]
    result.errors = []
    return True


def _manifest_entry(result: IntakeResult, received_at: datetime, size_bytes: int | None) -> dict:
    return {
        "partner_id": result.partner_id,
        "dataset": result.dataset,
        "file_sha256": result.file_sha256,
        "source_file": result.source_file,
        "received_at": received_at.isoformat(),
        "size_bytes": size_bytes,
        "status": result.status,
        "rows_total": result.rows_total,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "quarantine_report": result.report_path,
        # reasons carry no cell values, so `joulo status` may show them
        "reasons": sorted({e.reason for e in result.errors})[:10] if result.status == "rejected" else [],
    }


def _keep_raw_bytes(data_dir: DataDir, path: Path, sha: str) -> None:
    target = data_dir.raw / f"{sha}{path.suffix.lower() or '.bin'}"
    if not target.exists():
        # copied by the kernel, not through Python memory: session files run to hundreds of MB
        replace_atomically(target, lambda temporary: shutil.copyfile(path, temporary))


def _read_header(path: Path) -> tuple[str, list[str]]:
    with path.open("rb") as handle:
        # lines may end in \r\n or a bare \r as well as in \n
        first = handle.readline(MAX_HEADER_BYTES + 1).split(b"\r", 1)[0].rstrip(b"\n")
    if len(first) > MAX_HEADER_BYTES:
        raise _FileRejected([RowError(1, "", None, f"the header line is longer than {MAX_HEADER_BYTES // 1024} "
                                      "KiB; a header holds only the column names")])
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _FileRejected([RowError(1, "", None, "the file is not UTF-8 text")]) from None
    if not line.strip():
        raise _FileRejected([RowError(1, "", None, "the first line must be a header row; it is empty")])
    control = re.search(f"[{CONTROL_CHARACTERS}]", line)
    if control:
        raise _FileRejected([RowError(1, "", None, f"the header holds control character U+{ord(control.group()):04X}; "
                                      "a header holds only the column names, in UTF-8 (not UTF-16)")])
    delimiter = ";" if line.count(";") > line.count(",") else ","
    names = [name.strip().lower() for name in next(csv.reader([line], delimiter=delimiter))]
    return delimiter, names


def _check_header(dataset: Dataset, names: list[str]) -> None:
    errors = []
    repeated = sorted({n for n in names if names.count(n) > 1})
    for name in repeated:
        errors.append(RowError(1, name, name, "column appears more than once in the header"))
    for name in dataset.required:
        if name not in names:
            errors.append(RowError(1, name, None, f"required column {name!r} is missing from the header; "
                                   f"required for {dataset.name}: {', '.join(dataset.required)}"))
    if "" in names:
        errors.append(RowError(1, "", None, "a header cell is empty; every column needs a name"))
    if errors:
        raise _FileRejected(errors)


def _parse_and_land(data_dir: DataDir, path: Path, dataset: Dataset, result: IntakeResult,
                    received_at: datetime, read: _FileRead) -> None:
    delimiter, names = _read_header(path)
    _check_header(dataset, names)
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        positional = {f"c{i}": "VARCHAR" for i in range(len(names))}
        con.execute(
            "create table cells as select * from read_csv(?, delim=?, quote='\"', escape='\"', header=true, "
            f"columns={positional!r}, auto_detect=false, store_rejects=true, encoding='utf-8')",
            [str(path), delimiter],
        )
        one_row_per_line = _number_lines(con, path, read.physical_lines)
        present = {name: f"c{i}" for i, name in enumerate(names)}
        con.execute(_parsed_sql(dataset, present, decimal_comma=delimiter == ";"))
        # The per-cell check for control characters (a regex on every cell, a fifth of a session file's
        # intake) only where a cell can hold one.
        con.execute(_errors_sql(dataset, present, decimal_comma=delimiter == ";",
                                control_checks=read.has_control_bytes or not one_row_per_line))
        result.rows_total = con.execute("select count(*) from cells").fetchone()[0] + con.execute(
            "select count(distinct line) from reject_errors").fetchone()[0]
        result.errors = [
            RowError(line, column, value and visible(value), reason) for line, column, value, reason in
            con.execute("select line, column_name, value, reason from row_errors order by line, column_name").fetchall()
        ]
        target = data_dir.landing / result.partner_id / dataset.name / f"{result.file_sha256}.parquet"
        lineage = (
            f"'{result.partner_id}' as partner_id, '{result.file_sha256}' as file_sha256, "
            f"$src as source_file, $received::timestamptz as received_at, line as line_number"
        )
        columns = ", ".join(f"{c.name}" for c in dataset.columns)
        replace_atomically(target, lambda temporary: con.execute(
            f"copy (select {lineage}, {columns} from parsed where line not in (select line from row_errors) "
            f"order by line) to '{temporary}' (format parquet, compression zstd)",
            {"src": result.source_file, "received": received_at.isoformat()},
        ))
        result.rows_loaded = con.execute(f"select count(*) from read_parquet('{target}')").fetchone()[0]
        result.rows_rejected = len({e.row for e in result.errors})
        result.status = "landed_with_errors" if result.errors else "landed"
    except duckdb.Error as exc:
        raise _FileRejected([_unreadable_csv(exc)]) from None
    finally:
        con.close()


def _unreadable_csv(exc: duckdb.Error) -> RowError:
    """DuckDB's reason a file cannot be read, with the line it names, but without the `Original Line` it
    quotes (a customer's name, email, IBAN) or the reader's settings (an absolute path)."""
    message = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    row = int(line.group(1)) if line else 0
    if "Invalid unicode" in message:
        return RowError(row, "", None, f"line {row} is not UTF-8 text; the file must be UTF-8, with or without BOM")
    kept = [text for text in message.split("\n\n", 1)[0].splitlines() if not text.startswith("Original Line")]
    return RowError(row, "", None, f"the file could not be read as CSV: {' '.join(kept)}")


def _number_lines(con: duckdb.DuckDBPyConnection, path: Path, physical_lines: int | None) -> bool:
    """Give each parsed row its physical line number in the file (header = line 1); whether every line after
    the header is one parsed row.

    Usually every line after the header is one parsed row (`physical_lines`, counted in the intake's one read
    of the file): then the rows, kept in file order, are lines 2, 3, ... and the file need not be read again.
    Otherwise DuckDB's reader has skipped blank lines and rows it rejects; we read the file once more as plain
    lines and hand the parsed rows, in order, the line numbers that are neither blank, the header nor rejected.
    """
    parsed_rows, rejected_rows = con.execute(
        "select (select count(*) from cells), (select count(*) from reject_errors)").fetchone()
    if rejected_rows == 0 and parsed_rows + 1 == physical_lines:
        con.execute("create view numbered as select rowid + 2 as line, * from cells")
        return True
    _read_lines(con, path)
    con.execute(
        "create table line_map as select row_number() over (order by line) - 1 as cell_row, line from lines "
        "where line > 1 and trim(coalesce(text, ''), chr(13) || ' ') <> '' "
        "and line not in (select line from reject_errors)"
    )
    mapped_rows = con.execute("select count(*) from line_map").fetchone()[0]
    if parsed_rows != mapped_rows:
        raise _FileRejected([RowError(0, "", None, "a quoted value spans several lines; every record must be on "
                                      "one line")])
    con.execute("create table numbered as select m.line, c.* from (select rowid as cell_row, * from cells) c "
                "join line_map m using (cell_row)")
    return False


def _read_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The file as physical lines (table `lines`: line, text), read without any CSV interpretation."""
    con.execute(
        "create table raw_lines as select text from read_csv(?, delim=chr(30), quote='', escape='', "
        "header=false, columns={'text': 'VARCHAR'}, auto_detect=false, strict_mode=false, encoding='utf-8')",
        [str(path)],
    )
    con.execute("create table lines as select rowid + 1 as line, text from raw_lines")


def _cell(raw: str) -> str:
    return f"nullif(trim({raw}), '')"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number(column: Column, raw: str, decimal_comma: bool) -> str:
    cell = _cell(raw)
    return f"replace({cell}, ',', '.')" if column.type == "decimal" and decimal_comma else cell


def _parse_expression(column: Column, raw: str, decimal_comma: bool) -> str:
    cell = _cell(raw)
    match column.type:
        case "text" | "ref" | "email":
            return cell
        case "language":
            return f"lower({cell})"
        case "integer" | "decimal":
            number = _number(column, raw, decimal_comma)
            return (f"case when regexp_full_match({number}, '{_NUMBER_RE[column.type]}') "
                    f"then try_cast({number} as {DUCKDB_TYPES[column.type]}) end")
        case "date":
            return f"case when regexp_full_match({cell}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') then try_cast({cell} as date) end"
        case "timestamp":
            local = f"try_cast({cell} as timestamp)"
            winter = f"timezone('UTC', {local} - interval 1 hour)"
            summer = f"timezone('UTC', {local} - interval 2 hour)"
            is_winter = f"coalesce(timezone('Europe/Amsterdam', {winter}) = {local}, false)"
            is_summer = f"coalesce(timezone('Europe/Amsterdam', {summer}) = {local}, false)"
            return (f"case when regexp_matches({cell}, '{_OFFSET_RE}') then try_cast({cell} as timestamptz) "
                    f"when {is_winter} and not {is_summer} then {winter} "
                    f"when {is_summer} and not {is_winter} then {summer} end")
    raise AssertionError(column.type)


def _type_reason(column: Column, raw: str, decimal_comma: bool) -> str:
    """Why a cell that is present did not parse, as a SQL expression (DST cases and numbers too large for
    their type get their own words)."""
    cell = _cell(raw)
    accepted = _literal(f"is not {ACCEPTED[column.type]}")
    if column.type in _NUMBER_RE:
        number = _number(column, raw, decimal_comma)
        return (f"case when regexp_full_match({number}, '{_NUMBER_RE[column.type]}') "
                f"then {_literal(_TOO_LARGE[column.type])} else {accepted} end")
    if column.type != "timestamp":
        return accepted
    return (f"case when not regexp_matches({cell}, '{_OFFSET_RE}') and try_cast({cell} as timestamp) is not null "
            f"then 'is a local time that ' || case when timezone('Europe/Amsterdam', timezone('UTC', "
            f"try_cast({cell} as timestamp) - interval 1 hour)) = try_cast({cell} as timestamp) then 'occurs twice' "
            f"else 'does not exist' end || ' in Europe/Amsterdam (DST change); add a UTC offset' else {accepted} end")


def _parsed_sql(dataset: Dataset, present: dict[str, str], decimal_comma: bool) -> str:
    selects = ["line"]
    for column in dataset.columns:
        if column.name in present:
            selects.append(f"{_parse_expression(column, present[column.name], decimal_comma)} as {column.name}")
            selects.append(f"{_cell(present[column.name])} as {column.name}__text")
        else:
            selects.append(f"null::{DUCKDB_TYPES[column.type]} as {column.name}")
            selects.append(f"null::varchar as {column.name}__text")
    return f"create table parsed as select {', '.join(selects)} from numbered"


def _errors_sql(dataset: Dataset, present: dict[str, str], decimal_comma: bool, control_checks: bool) -> str:
    """The table row_errors: every refused cell and row with its reason. `control_checks` false when no cell
    can hold a control character (_parse_and_land): the check would find none."""
    parts = [
        "select distinct on (line) line, '' as column_name, csv_line as value, "
        "'the row does not match the header: ' || error_message as reason from reject_errors"
    ]
    cell_checks = []
    control = f"regexp_matches({{}}, '[{CONTROL_CHARACTERS}]')"
    for column in dataset.columns:
        text = f"{column.name}__text"
        if column.required:
            cell_checks.append(f"select line, '{column.name}', null, 'is required but empty' from parsed "
                               f"where {text} is null")
        if column.name not in present:
            continue
        # One reason per cell: a control character first, whatever the column's type.
        if control_checks:
            cell_checks.append(
                f"select line, '{column.name}', {text}, 'holds control character U+' || "
                f"printf('%04X', unicode(regexp_extract({text}, '[{CONTROL_CHARACTERS}]'))) || "
                f"{_literal('; accepted: ' + ACCEPTED['text'])} from parsed where {control.format(text)}")
        if column.type != "text":
            reason = _type_reason(column, text, decimal_comma)
            condition = f"{text} is not null and {column.name} is null"
            if column.type == "email":
                condition = f"{text} is not null and not regexp_full_match({text}, '{EMAIL_PATTERN[1:-1]}')"
            elif column.type == "language":
                condition = f"{text} is not null and {column.name} not in ('nl', 'en')"
            elif column.type == "ref":
                condition = (f"{text} is not null and not (regexp_full_match({text}, '{REF_PATTERN[1:-1]}') "
                             f"and length({text}) <= {REF_MAX_LENGTH})")
            if control_checks:
                condition += f" and not {control.format(text)}"
            cell_checks.append(f"select line, '{column.name}', {text}, {reason} from parsed where {condition}")
    parts += cell_checks
    if dataset.row_rules:
        rule_parts = [
            f"select line, '{rule.column}', {rule.column}__text, '{rule.reason}' from parsed "
            f"where not coalesce({rule.condition}, false)"
            for rule in dataset.row_rules
        ]
        clean = " union all ".join(cell_checks) if cell_checks else "select null, null, null, null where false"
        parts.append(
            f"select * from ({' union all '.join(rule_parts)}) where line not in "
            f"(select line from ({clean}) c(line, column_name, value, reason))"
        )
    return f"create table row_errors as {' union all '.join(parts)}"


def _write_quarantine(data_dir: DataDir, result: IntakeResult, path: Path, quarantine_dir: Path) -> None:
    """The report (CSV for people, JSON for machines) and the offending lines exactly as delivered."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    stem = quarantine_dir / result.record_name
    rows = [[result.source_file, error.row, error.column, error.value or "", error.reason] for error in result.errors]
    write_atomically(stem.with_suffix(".errors.csv"), people_csv.render(ERROR_COLUMNS, rows).encode())
    report = {**result.summary(), "partner_id": result.partner_id, "file_sha256": result.file_sha256,
              "errors": [asdict(e) for e in result.errors]}
    write_atomically(stem.with_suffix(".report.json"), json.dumps(report, indent=2, default=str).encode())
    if result.file_sha256 is None:  # an entry the intake does not read has no bytes to keep
        pass
    elif result.status == "rejected":
        # by the kernel: a file refused for its size may be large
        replace_atomically(quarantine_dir / f"{result.file_sha256}__{path.name}",
                           lambda temporary: shutil.copyfile(path, temporary))
    else:
        _write_rejected_lines(path, {e.row for e in result.errors}, stem.with_suffix(".rejected_rows.csv"))
    result.report_path = str(stem.with_suffix(".errors.csv").relative_to(data_dir.root))


def _write_rejected_lines(path: Path, rows: set[int], target: Path) -> None:
    con = duckdb.connect()
    try:
        _read_lines(con, path)
        found = con.execute(
            "select line, text from lines where line = 1 or list_contains(?::bigint[], line) order by line",
            [sorted(rows)],
        ).fetchall()
    finally:
        con.close()
    header, *lines = found
    content = header[1] + "\n" + "".join(f"{text}\n" for _, text in lines)
    write_atomically(target, content.lstrip("\ufeff").encode())
