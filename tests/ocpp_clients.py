"""Helpers for the OCPP gateway tests: the gateway in the test's event loop, and real `ocpp` charge points
(the package's own ChargePoint classes) connected over real WebSockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import threading

import yaml
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v201 import ChargePoint as ChargePoint201
from websockets.asyncio.client import connect

from joulo_pipelines.lib.ocpp_gateway.server import run_gateway
from joulo_pipelines.lib.paths import DataDir

SECRET = "correct horse battery staple"
SECRET_ENV = "BETA_OCPP_SECRET"


def make_ocpp_partner(data_dir: DataDir, partner_id: str = "beta") -> None:
    """Turn a registered partner into an OCPP partner whose secret sits in BETA_OCPP_SECRET."""
    registry = yaml.safe_load(data_dir.partners_file.read_text())
    for partner in registry["partners"]:
        if partner["id"] == partner_id:
            partner["source"] = {"type": "ocpp", "basic_auth_env": SECRET_ENV}
    data_dir.partners_file.write_text(yaml.safe_dump(registry, sort_keys=False))


@contextlib.asynccontextmanager
async def gateway(data_dir: DataDir, **options):
    loop = asyncio.get_running_loop()
    ready, stop = loop.create_future(), loop.create_future()
    task = asyncio.create_task(run_gateway(data_dir, "127.0.0.1", 0, ready=ready, stop=stop, **options))
    await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        task.result()  # the gateway ended before it listened: its exception
    port = ready.result()
    try:
        yield port
    finally:
        stop.set_result(None)
        await task


@contextlib.asynccontextmanager
async def charge_point(port: int, identity: str, version: str, partner: str = "beta", secret: str = SECRET,
                       username: str | None = None):
    client_class = {"1.6": ChargePoint16, "2.0.1": ChargePoint201}[version]
    url = f"ws://127.0.0.1:{port}/{partner}/{identity}"
    headers = basic_auth_header(username or identity, secret)
    async with connect(url, subprotocols=[f"ocpp{version}"], additional_headers=headers) as ws:
        client = client_class(identity, ws)
        runner = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            runner.cancel()


def basic_auth_header(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class GatewayProcess:
    """`joulo ocpp-gateway --port 0` as a process of its own (to be SIGKILLed): the OS picks the port, read
    from the gateway's start-up line. Its log keeps being read so the pipe never fills."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "joulo_pipelines.cli", "ocpp-gateway", "--port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            if found := re.search(r"OCPP gateway on ws://127\.0\.0\.1:(\d+)/", line):
                self.port = int(found.group(1))
                break
        else:
            raise AssertionError(f"the gateway ended before it listened (exit {self.process.wait()}): "
                                 f"{''.join(self.log)[-2000:]}")
        threading.Thread(target=self.log.extend, args=(self.process.stderr,), daemon=True).start()

    @classmethod
    async def start(cls) -> GatewayProcess:
        """Started from a thread, so the event loop (the charge points) goes on while it starts."""
        return await asyncio.to_thread(cls)

    def alive(self) -> bool:
        return self.process.poll() is None
