"""What every request passes before the API looks at it: a body size limit (413), the access log (no
bodies, no query values, no personal data: method, path, status, time and the key id), and the per-key
rate limit (429 with Retry-After, a moving window from the `limits` library, its hits shared by the worker
processes in rate_limits.py)."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

from limits import parse
from limits.strategies import MovingWindowRateLimiter

from joulo_pipelines.lib.api.rate_limits import SqliteStorage

access_log = logging.getLogger("joulo.api.access")


UPLOAD_PATH_SUFFIX = "/evidence"  # document uploads (routers/evidence.py) get `upload_max_bytes`


class BodySizeLimit:
    """Refuses a body over `max_bytes` with 413 (`upload_max_bytes` for a document upload), whether announced
    by Content-Length or streamed."""

    def __init__(self, app, max_bytes: int, upload_max_bytes: int | None = None):
        self.app, self.max_bytes = app, max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        is_upload = scope["method"] == "POST" and scope["path"].endswith(UPLOAD_PATH_SUFFIX)
        max_bytes = self.upload_max_bytes if is_upload else self.max_bytes
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > max_bytes):
            return await _refuse(send, max_bytes)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > max_bytes:
                return await _refuse(send, max_bytes)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _refuse(send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"request body larger than {max_bytes} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class AccessLog:
    """One line per request. The path may hold a customer_ref (the partner's pseudonymous id); the query
    string and bodies are never logged."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.monotonic(), {"code": 500}

        async def recording_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            key_id = scope.get("state", {}).get("key_id", "-")
            access_log.info("%s %s %d %dms key=%s", scope["method"], scope["path"], status["code"],
                            (time.monotonic() - started) * 1000, key_id)


class RateLimiter:
    def __init__(self, rate: str, hits: Path):
        self.limit = parse(rate)
        self.limiter = MovingWindowRateLimiter(SqliteStorage(hits))

    def retry_after(self, key_id: str) -> int | None:
        """None when the request may go ahead, else the seconds to wait."""
        if self.limiter.hit(self.limit, key_id):
            return None
        reset_at, _ = self.limiter.get_window_stats(self.limit, key_id)
        return max(1, math.ceil(reset_at - time.time()))
