"""The per-partner OCPP journal: JSON lines, one per received call, acknowledged only once fsynced.

Layout under <data dir>/ocpp/journal/<partner_id>/:
  <first_seq>.jsonl.open   the segment being written (at most one per partner)
  <first_seq>.jsonl        closed segments, never written again: what the landing sensor picks up
  import-<sha>.jsonl       closed segments written by `joulo ocpp-import`

Durability is group commit: callers queue their record in the batch being filled and wait; one flusher
writes the whole batch and fsyncs once, so a thousand concurrent charge points cost one fsync, not a
thousand. A record is answered only after the fsync that covers it returned. While one fsync runs the next
batch fills, so batches grow with the load by themselves. A quick fsync runs on the event loop (the calls
arriving meanwhile wait in the sockets and form the next batch), a slow one in a thread.

A call is turned into its journal line by the charge point's own task, before it is queued: a call that
cannot be written (a lone surrogate from a `\\ud800` escape is valid JSON but not UTF-8) is refused to that
caller alone. Whatever else goes wrong in a write fails the batch's callers (no answer for what may not be on
disk), and a supervisor restarts the writer if it ever fails outside a write: it never dies silently.

Crash recovery (on start): an open segment left behind by a killed gateway is cut back to its last
complete line (a torn tail was never acknowledged) and closed. Its records seed the duplicate index, so a
charge point that retries a call we had written but not yet answered gets the original answer (the same
transactionId) and no second journal line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import orjson

from joulo_pipelines.lib import clock
from joulo_pipelines.lib.paths import DataDir, fsync, write_atomically

OPEN_SUFFIX = ".jsonl.open"
CLOSED_SUFFIX = ".jsonl"
# A write and fsync this quick are done on the event loop: a thread hop per batch costs more CPU (GIL hand-offs)
# than they block the loop (a quick disk's p99 is about 1 ms). One slower than this (a busy or slow disk) sends
# the next batch's to a thread, until one is quick again.
INLINE_FSYNC_SECONDS = 0.002
# How many (charge point, message id) keys per partner we remember to recognise a retried call. Retries
# come within seconds or minutes; this covers far more than a segment's worth of traffic.
DEDUPLICATION_WINDOW = 500_000
LOGGER = logging.getLogger("joulo.ocpp_gateway.journal")


class Unjournalable(ValueError):
    """A call that cannot be written as a journal line; it is refused, never acknowledged."""


class _Batch:
    """Records written and fsynced together. Its callers wait on one event: a caller that goes away
    (its connection closed) stops waiting without disturbing the others or the write."""

    __slots__ = ("records", "lines", "written", "callbacks", "error")

    def __init__(self) -> None:
        self.records: list[JournalRecord] = []
        self.lines: list[bytes] = []
        self.written = asyncio.Event()
        self.callbacks: list[Callable[[Exception | None], object]] = []  # submit()'s callers
        self.error: Exception | None = None


def journal_root(data_dir: DataDir) -> Path:
    return data_dir.root / "ocpp" / "journal"


def closed_segments(data_dir: DataDir) -> list[Path]:
    """Every closed segment of every partner, in a stable order."""
    root = journal_root(data_dir)
    if not root.exists():
        return []
    return sorted(p for p in root.glob(f"*/*{CLOSED_SUFFIX}") if p.is_file())


class Journaled(NamedTuple):
    """What answering a retried call takes from its journaled original, kept for the deduplication window.

    Only atomic fields: the garbage collector stops tracking such tuples, whereas half a million full records
    with their payload dicts made every full collection of a busy gateway stop the world for ~0.4 s."""

    action: str
    transaction_id: int | None


@dataclass(frozen=True)
class JournalRecord:
    seq: int | None  # the partner's journal position; None for imported records
    received_at: str  # ISO 8601 UTC
    partner_id: str
    charge_point_ref: str
    ocpp_version: str  # "1.6" | "2.0.1"
    message_id: str
    action: str
    payload: dict
    transaction_id: int | None = None  # of a 1.6 StartTransaction: ours, or the CSMS's (proxy, import)
    origin: str = "gateway"  # gateway | proxy | import:<file name>

    def to_line(self) -> bytes:
        document = {
            "seq": self.seq, "received_at": self.received_at, "partner_id": self.partner_id,
            "charge_point_ref": self.charge_point_ref, "ocpp_version": self.ocpp_version,
            "message_id": self.message_id, "action": self.action, "payload": self.payload,
            "transaction_id": self.transaction_id, "origin": self.origin,
        }
        try:  # orjson writes the same compact UTF-8 JSON as json.dumps, in a tenth of the time
            return orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:  # a lone surrogate, an integer beyond 64 bits: json tells them apart
            pass
        try:
            return (json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        except UnicodeEncodeError as exc:
            raise Unjournalable(f"not valid Unicode text ({exc.reason})") from None

    @classmethod
    def from_line(cls, line: bytes) -> "JournalRecord":
        return cls(**json.loads(line))


def write_closed_segment(folder: Path, name: str, records: list[JournalRecord]) -> Path:
    """Write a whole segment at once (the importer), on disk before it counts as closed."""
    target = folder / f"{name}{CLOSED_SUFFIX}"
    write_atomically(target, b"".join(r.to_line() for r in records), durable=True)
    return target


def _complete_records(path: Path) -> tuple[list[JournalRecord], int]:
    """The records of a segment up to its last complete, parseable line, and that line's end offset."""
    content = path.read_bytes()
    records, good_end, start = [], 0, 0
    while True:
        end = content.find(b"\n", start)
        if end < 0:
            break
        try:
            records.append(JournalRecord.from_line(content[start:end]))
        except (ValueError, TypeError):
            break
        good_end = start = end + 1
    return records, good_end


class PartnerJournal:
    """One partner's journal, written by one asyncio task. Not safe across processes: one gateway at a time."""

    def __init__(self, folder: Path, partner_id: str, *, max_segment_bytes: int = 64 << 20,
                 max_segment_seconds: float = 300.0):
        self.folder = folder
        self.partner_id = partner_id
        self.max_segment_bytes = max_segment_bytes
        self.max_segment_seconds = max_segment_seconds
        self._next_seq = 1
        self._recent: OrderedDict[tuple[str, str], Journaled] = OrderedDict()
        self._filling: _Batch | None = None
        self._in_flight: dict[tuple[str, str], _Batch] = {}
        self._wake = asyncio.Event()
        self._fd: int | None = None
        self._segment: Path | None = None
        self._segment_bytes = 0
        self._segment_opened = 0.0
        self._flusher: asyncio.Task | None = None
        self._fsync_inline = True
        self._closing = False
        self._clock = clock.HotClock()  # stamps every call: no stat of the clock file per call

    # -- life cycle ---------------------------------------------------------------------------------------
    def recover(self) -> None:
        """Close what a previous run left open and restore the sequence and the duplicate index."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in sorted(self.folder.glob(f"*{OPEN_SUFFIX}")):
            records, good_end = _complete_records(leftover)
            with leftover.open("r+b") as handle:
                handle.truncate(good_end)
                os.fsync(handle.fileno())
            if records:
                os.replace(leftover, leftover.with_name(leftover.name.removesuffix(".open")))
            else:
                leftover.unlink()
        fsync(self.folder)
        gateway_segments = sorted(p for p in self.folder.glob(f"*{CLOSED_SUFFIX}") if p.name[0].isdigit())
        for segment in gateway_segments[-2:]:
            for record in _complete_records(segment)[0]:
                self._remember(record)
                if record.seq is not None:
                    self._next_seq = max(self._next_seq, record.seq + 1)

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._supervise(), name=f"journal-{self.partner_id}")

    async def close(self) -> None:
        """Flush what is queued, close the open segment (it becomes landable) and stop."""
        self._closing = True
        self._wake.set()
        if self._flusher:
            await self._flusher
        self._close_segment()

    # -- appending ----------------------------------------------------------------------------------------
    async def append(self, charge_point_ref: str, ocpp_version: str, message_id: str, action: str,
                     payload: dict, *, proxied: bool = False,
                     transaction_id: int | None = None) -> tuple[Journaled, bool]:
        """Journal one call; returns once it is on disk, with whether it was a retry of a journaled call.

        A 1.6 StartTransaction gets its journal position as transaction id, unless the call was `proxied`: then
        the partner's CSMS answered it, and `transaction_id` is the one it assigned.
        Raises Unjournalable (nothing queued) or the error that kept its batch off the disk."""
        key = (charge_point_ref, message_id)
        if key in self._in_flight:
            await self._in_flight[key].written.wait()
        existing = self._recent.get(key)
        if existing is not None and existing.action == action:
            return existing, True
        batch, record = self._enqueue(charge_point_ref, ocpp_version, message_id, action, payload, proxied,
                                      transaction_id)
        await batch.written.wait()
        if batch.error is not None:
            raise batch.error
        return Journaled(action, record.transaction_id), False

    def submit(self, charge_point_ref: str, ocpp_version: str, message_id: str, action: str, payload: dict, *,
               transaction_id: int | None, on_written: Callable[[Exception | None], object]) -> None:
        """append() of a proxied call for a caller that does not wait (the proxy's read callbacks): the loop
        calls `on_written(None)` once the call is on disk (or already was: a retry), `on_written(error)` if
        it is not (Unjournalable, or the error that kept its batch off the disk)."""
        loop = asyncio.get_running_loop()
        key = (charge_point_ref, message_id)
        if key in self._in_flight:  # a retry racing its original's write: decide once that is settled
            self._in_flight[key].callbacks.append(lambda _: self.submit(
                charge_point_ref, ocpp_version, message_id, action, payload, transaction_id=transaction_id,
                on_written=on_written))
            return
        existing = self._recent.get(key)
        if existing is not None and existing.action == action:
            loop.call_soon(on_written, None)
            return
        try:
            batch, _ = self._enqueue(charge_point_ref, ocpp_version, message_id, action, payload, True,
                                     transaction_id)
        except Unjournalable as refused:
            loop.call_soon(on_written, refused)
            return
        batch.callbacks.append(on_written)

    def _enqueue(self, charge_point_ref: str, ocpp_version: str, message_id: str, action: str, payload: dict,
                 proxied: bool, transaction_id: int | None) -> tuple[_Batch, JournalRecord]:
        """The call's record in the batch being filled; Unjournalable leaves nothing queued."""
        seq = self._next_seq
        record = JournalRecord(
            seq=seq, received_at=self._clock.now().isoformat(timespec="microseconds"), partner_id=self.partner_id,
            charge_point_ref=charge_point_ref, ocpp_version=ocpp_version, message_id=message_id, action=action,
            payload=payload, origin="proxy" if proxied else "gateway",
            transaction_id=transaction_id if proxied else seq if action == "StartTransaction" else None,
        )
        line = record.to_line()
        self._next_seq += 1
        if self._filling is None:
            self._filling = _Batch()
        batch = self._filling
        batch.records.append(record)
        batch.lines.append(line)
        self._in_flight[(charge_point_ref, message_id)] = batch
        self._wake.set()
        return batch, record

    def _remember(self, record: JournalRecord) -> None:
        self._recent[(record.charge_point_ref, record.message_id)] = Journaled(record.action, record.transaction_id)
        if len(self._recent) > DEDUPLICATION_WINDOW:
            self._recent.popitem(last=False)

    # -- the flusher --------------------------------------------------------------------------------------
    async def _supervise(self) -> None:
        while True:
            try:
                return await self._flush_forever()
            except Exception:
                LOGGER.exception("partner %s: the journal writer failed; restarting it", self.partner_id)
                await asyncio.sleep(1.0)  # a lasting fault (a full disk) is not retried in a busy loop

    async def _flush_forever(self) -> None:
        while True:
            if self._filling is None and not self._closing:
                try:  # at least every second: an idle segment is still closed on time
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            self._wake.clear()
            batch, self._filling = self._filling, None
            if batch is not None:
                await self._write_batch(batch)
            if self._fd is not None and (
                self._segment_bytes >= self.max_segment_bytes
                or time.monotonic() - self._segment_opened >= self.max_segment_seconds
            ):
                self._close_segment()
            if self._closing and self._filling is None:
                return

    async def _write_batch(self, batch: _Batch) -> None:
        try:
            if self._fd is None:
                self._open_segment(batch.records[0].seq)
            if self._fsync_inline:
                took = self._write_and_sync(b"".join(batch.lines))
            else:
                took = await asyncio.to_thread(self._write_and_sync, b"".join(batch.lines))
            self._fsync_inline = took < INLINE_FSYNC_SECONDS
        except Exception as exc:  # nobody gets an ack for what may not be on disk
            LOGGER.error("partner %s: journal write failed, %d call(s) refused: %r", self.partner_id,
                         len(batch.records), exc)
            batch.error = exc
        else:
            for record in batch.records:
                self._remember(record)
        finally:
            for record in batch.records:
                if self._in_flight.get((record.charge_point_ref, record.message_id)) is batch:
                    del self._in_flight[(record.charge_point_ref, record.message_id)]
            batch.written.set()
            loop = asyncio.get_running_loop()
            for callback in batch.callbacks:  # each on its own: one that fails does not stop the writer
                loop.call_soon(callback, batch.error)

    def _write_and_sync(self, data: bytes) -> float:
        """Write and fsync `data`; the seconds it took."""
        assert self._fd is not None
        started = time.monotonic()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self._segment_bytes += len(data)
        return time.monotonic() - started

    def _open_segment(self, first_seq: int) -> None:
        self._segment = self.folder / f"{first_seq:012d}{OPEN_SUFFIX}"
        # It holds idTags and meter data: owner only, whatever the umask.
        self._fd = os.open(self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fsync(self.folder)
        self._segment_bytes = 0
        self._segment_opened = time.monotonic()

    def _close_segment(self) -> None:
        if self._fd is None or self._segment is None:
            return
        os.fsync(self._fd)
        os.close(self._fd)
        os.replace(self._segment, self._segment.with_name(self._segment.name.removesuffix(".open")))
        fsync(self.folder)
        self._fd, self._segment = None, None
