"""A real SMTP server on loopback for the tests (aiosmtpd), on a port it binds itself: port 0, the OS picks,
the port is read back from the bound socket (no free port probed first and bound again)."""

from __future__ import annotations

from aiosmtpd.controller import Controller


class SmtpServer(Controller):
    def __init__(self, handler):
        # aiosmtpd's start() waits ready_timeout seconds (default 1) for its own thread: generous, for a
        # loaded machine; it returns as soon as the server answers.
        super().__init__(handler, hostname="127.0.0.1", port=0, ready_timeout=120)

    def _create_server(self):
        return self._bind()

    async def _bind(self):
        server = await super()._create_server()
        self.port = server.sockets[0].getsockname()[1]
        return server
