"""Client: blocking calls to a faceserve server over gRPC.

    with faceserve.Client("localhost:50051") as client:
        analysis = client.analyze("photo.jpg", embeddings=True)
"""
import time
from typing import Optional

import grpc

from faceserve import calls, errors, results
from faceserve.api import Api
from faceserve.retry import RetryPolicy


class Client(Api):
    def __init__(self, target: str = "localhost:50051", *, api_key: Optional[str] = None,
                 timeout: float = 30.0, retry: RetryPolicy = RetryPolicy(), tls: bool = False,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                 key_file: Optional[str] = None):
        """`target`: host:port. `api_key`: sent as "authorization: Bearer
        KEY". `timeout`: default deadline of a call in seconds. TLS when `tls`
        or `ca_file` is given (`cert_file` + `key_file`: mutual TLS)."""
        self._connect(grpc, target, api_key, timeout, retry, tls, ca_file, cert_file, key_file)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Blocks until health says SERVING (models loaded and preheated);
        errors.Unavailable when it does not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._serving(self._health.Check(self._health_request(), timeout=5,
                                                    metadata=self._metadata)):
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() >= deadline:
                raise self._not_ready(timeout)
            time.sleep(0.2)

    def analyze_stream(self, frames, *, timeout: Optional[float] = None, **options):
        """Frames in, tracked faces out (FaceService.AnalyzeStream): yields a
        results.StreamFrameResult per frame the server processes, in order,
        then one with end_of_stream set whose `ended` holds every track's
        summary (best shot, smoothed attributes, identity).
        `options`: predictors, embeddings, detect_every, overflow
        ("drop_oldest" for live video, "block" for files), max_queued,
        lost_track_ttl_ms, fps (timestamps of bare images), identify_gallery
        (tracks named from a gallery over several frames), best_shots (each
        summary's best shot with its JPEG), smoothing_ms. Not retried."""
        responses = self._stubs["face"].AnalyzeStream(
            calls.stream_requests(frames, **options), timeout=timeout, metadata=self._metadata)
        try:
            for response in responses:
                yield results.StreamFrameResult.of(response)
        except grpc.RpcError as e:
            raise errors.from_rpc_error(e) from None

    def _invoke(self, call: calls.Call, timeout: Optional[float]):
        method = getattr(self._stubs[call.service], call.method)
        deadline = self._deadline(timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = method(call.request, timeout=max(deadline - time.monotonic(), 0.001),
                                  metadata=self._metadata)
                return call.convert(response)
            except grpc.RpcError as e:
                time.sleep(self._wait_before_retry(call, e, attempt, deadline))
