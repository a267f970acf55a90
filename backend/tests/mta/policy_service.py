"""The policy service (facteur-policy) in process, for the Postfix tests, asking a live
backend with the test service token."""

from __future__ import annotations

import asyncio
import threading

from facteur_mta.policy import MAX_LINE, BackendClient, PolicyService, RecipientCache
from tests.net import free_port

TOKEN = "mta-inbound-test-token"


class PolicyThread:
    """The policy service on its own event loop; ``down()`` also drops Postfix's open
    connections, as a crashed service would."""

    def __init__(self, api_url: str) -> None:
        self.port = free_port()
        client = BackendClient(api_url=api_url, token=TOKEN, timeout=3)
        self.service = PolicyService(client.exists, RecipientCache())
        self.loop = asyncio.new_event_loop()
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _handle(self, reader, writer) -> None:
        self.writers.add(writer)
        try:
            await self.service.handle(reader, writer)
        finally:
            self.writers.discard(writer)

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def up(self) -> None:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._handle, "127.0.0.1", self.port, limit=MAX_LINE)

        self.server = self._run(start())

    def down(self) -> None:
        async def stop() -> None:
            assert self.server is not None
            self.server.close()
            for writer in list(self.writers):
                writer.close()
            await self.server.wait_closed()

        self._run(stop())

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
