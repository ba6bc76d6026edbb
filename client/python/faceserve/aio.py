"""AsyncClient: the same calls as Client, for asyncio (grpc.aio).

    async with faceserve.AsyncClient("localhost:50051") as client:
        analysis = await client.analyze("photo.jpg")
"""
import asyncio
import time
from typing import Optional

import grpc

from faceserve import calls
from faceserve.api import Api
from faceserve.retry import RetryPolicy


class AsyncClient(Api):
    def __init__(self, target: str = "localhost:50051", *, api_key: Optional[str] = None,
                 timeout: float = 30.0, retry: RetryPolicy = RetryPolicy(), tls: bool = False,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                 key_file: Optional[str] = None):
        """As Client's; make it inside the event loop that uses it."""
        self._connect(grpc.aio, target, api_key, timeout, retry, tls, ca_file, cert_file,
                      key_file)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._serving(await self._health.Check(self._health_request(), timeout=5,
                                                          metadata=self._metadata)):
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() >= deadline:
                raise self._not_ready(timeout)
            await asyncio.sleep(0.2)

    async def _invoke(self, call: calls.Call, timeout: Optional[float]):
        method = getattr(self._stubs[call.service], call.method)
        deadline = self._deadline(timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await method(call.request,
                                        timeout=max(deadline - time.monotonic(), 0.001),
                                        metadata=self._metadata)
                return call.convert(response)
            except grpc.RpcError as e:
                await asyncio.sleep(self._wait_before_retry(call, e, attempt, deadline))
