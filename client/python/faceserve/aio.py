"""AsyncClient: the same calls as Client, for asyncio (grpc.aio).

    async with faceserve.AsyncClient("localhost:50051") as client:
        analysis = await client.analyze("photo.jpg")
"""
import asyncio
import time
from typing import Optional

import grpc

from faceserve import calls, errors
from faceserve._health import health_pb2, health_pb2_grpc
from faceserve.api import Api
from faceserve.retry import RETRYABLE, RetryPolicy
from faceserve.v1 import face_service_pb2_grpc, gallery_service_pb2_grpc


class AsyncClient(Api):
    def __init__(self, target: str = "localhost:50051", *, api_key: Optional[str] = None,
                 timeout: float = 30.0, retry: RetryPolicy = RetryPolicy(), tls: bool = False,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                 key_file: Optional[str] = None):
        """As Client's; make it inside the event loop that uses it."""
        creds = calls.credentials(tls, ca_file, cert_file, key_file)
        self._channel = (grpc.aio.secure_channel(target, creds, options=calls.CHANNEL_OPTIONS)
                         if creds else
                         grpc.aio.insecure_channel(target, options=calls.CHANNEL_OPTIONS))
        self._stubs = {"face": face_service_pb2_grpc.FaceServiceStub(self._channel),
                       "gallery": gallery_service_pb2_grpc.GalleryServiceStub(self._channel)}
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._metadata = [("authorization", f"Bearer {api_key}")] if api_key else []
        self.timeout = timeout
        self.retry = retry

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
                response = await self._health.Check(health_pb2.HealthCheckRequest(), timeout=5,
                                                    metadata=self._metadata)
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() >= deadline:
                raise errors.Unavailable(grpc.StatusCode.UNAVAILABLE,
                                         f"not SERVING within {timeout} s")
            await asyncio.sleep(0.2)

    async def _invoke(self, call: calls.Call, timeout: Optional[float]):
        method = getattr(self._stubs[call.service], call.method)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            try:
                response = await method(call.request, timeout=max(remaining, 0.001),
                                        metadata=self._metadata)
                return call.convert(response)
            except grpc.RpcError as e:
                wait = (self.retry.backoff(attempt, deadline - time.monotonic())
                        if call.idempotent and e.code() in RETRYABLE else None)
                if wait is None:
                    raise errors.from_rpc_error(e) from None
                await asyncio.sleep(wait)
