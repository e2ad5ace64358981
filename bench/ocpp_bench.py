"""OCPP gateway benchmark: N concurrent charge points send MeterValues as fast as they are answered.

Starts `joulo ocpp-gateway` as its own process on a scratch data dir, opens N WebSocket connections
(subprotocol ocpp1.6, HTTP Basic) from client processes, and for DURATION seconds each connection sends a
MeterValues call and waits for its answer (OCPP allows one call in flight per connection). Prints the
sustained acknowledged messages per second, p50/p99 acknowledgement latency, the gateway's peak memory,
and checks that every acknowledged message is in the journal. Not run by the tests.

    make bench-ocpp                      # 2,000 connections, 20 s
    .venv/bin/python bench/ocpp_bench.py --connections 500 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from websockets.asyncio.client import connect

SECRET = "bench-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _meter_values(n: int) -> dict:
    return {"connectorId": 1, "transactionId": 1, "meterValue": [{
        "timestamp": "2026-05-01T10:00:00Z",
        "sampledValue": [{"value": str(1000 + n), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}


async def _charge_point(port: int, identity: str, start_at: float, stop_at: float, latencies: list[float],
                        acked: list[str]) -> None:
    auth = base64.b64encode(f"{identity}:{SECRET}".encode()).decode()
    async with connect(f"ws://127.0.0.1:{port}/bench/{identity}", subprotocols=["ocpp1.6"],
                       additional_headers={"Authorization": f"Basic {auth}"}, open_timeout=120,
                       ping_interval=None, compression=None, max_queue=4) as ws:
        while time.time() < start_at:
            await asyncio.sleep(min(0.05, start_at - time.time()))
        n = 0
        while time.time() < stop_at:
            message_id = f"{identity}-{n}"
            sent = time.perf_counter()
            await ws.send(json.dumps([2, message_id, "MeterValues", _meter_values(n)]))
            answer = json.loads(await ws.recv())
            if answer[0] == 3 and answer[1] == message_id:
                latencies.append(time.perf_counter() - sent)
                acked.append(message_id)
            n += 1


def _client_process(port: int, identities: list[str], start_at: float, stop_at: float, out: str) -> None:
    latencies: list[float] = []
    acked: list[str] = []

    async def run() -> None:
        connecting = asyncio.Semaphore(100)  # a connection storm of thousands overflows the listen backlog

        async def one(identity: str) -> None:
            async with connecting:
                pass
            await _charge_point(port, identity, start_at, stop_at, latencies, acked)

        await asyncio.gather(*(one(i) for i in identities))

    asyncio.run(run())
    Path(out).write_text(json.dumps({"latencies": latencies, "acked": acked}))


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--ramp-seconds", type=float, default=20.0, help="time allowed to open every connection")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ocpp-bench-"))
    data = root / "data"
    (data / "config").mkdir(parents=True)
    (data / "config" / "partners.yaml").write_text(yaml.safe_dump({"partners": [{
        "id": "bench", "name": "Bench B.V.", "brand": {"display_name": "Bench", "sender_email": "b@bench.example"},
        "payout_model": "direct", "service_fee_pct": 15,
        "source": {"type": "ocpp", "basic_auth_env": "BENCH_OCPP_SECRET"}}]}))
    env = {**os.environ, "JOULO_DATA_DIR": str(data), "BENCH_OCPP_SECRET": SECRET}
    env.pop("JOULO_AS_OF", None)
    port = _free_port()
    gateway = subprocess.Popen([sys.executable, "-m", "joulo_pipelines.cli", "ocpp-gateway", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        start_at = time.time() + args.ramp_seconds
        stop_at = start_at + args.seconds
        identities = [f"CP{i:05d}" for i in range(args.connections)]
        shares = [identities[i::args.client_processes] for i in range(args.client_processes)]
        outputs = [str(root / f"client{i}.json") for i in range(args.client_processes)]
        clients = [multiprocessing.Process(target=_client_process, args=(port, share, start_at, stop_at, out))
                   for share, out in zip(shares, outputs)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        peak_mb = _peak_memory_mb(gateway.pid)
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=120)

    latencies: list[float] = []
    acked: list[str] = []
    for out in outputs:
        result = json.loads(Path(out).read_text())
        latencies += result["latencies"]
        acked += result["acked"]
    journaled = set()
    for segment in (data / "ocpp" / "journal" / "bench").glob("*.jsonl"):
        with segment.open() as handle:
            journaled.update(json.loads(line)["message_id"] for line in handle)
    missing = len(set(acked) - journaled)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    print(f"connections:              {args.connections} ({args.client_processes} client processes)")
    print(f"acknowledged messages:    {len(acked)} in {args.seconds:.0f} s")
    print(f"sustained throughput:     {len(acked) / args.seconds:,.0f} acknowledged msgs/s")
    print(f"ack latency p50 / p99:    {quantiles[49] * 1000:.1f} ms / {quantiles[98] * 1000:.1f} ms")
    print(f"gateway peak memory:      {peak_mb:,.0f} MB (VmHWM)")
    print(f"acknowledged not in journal: {missing}")
    shutil.rmtree(root, ignore_errors=True)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
