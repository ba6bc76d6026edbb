"""The calls every client offers, written once: each builds its Call
(faceserve/calls.py) and hands it to the client's _invoke, which sends it
(Client: blocking, returns the result; AsyncClient: returns an awaitable).

Every method takes `timeout` (seconds; the client's default when None): the
whole call's deadline, retries included."""
import time
from typing import Dict, Iterable, Optional, Sequence

import grpc

from faceserve import calls, errors
from faceserve._health import health_pb2, health_pb2_grpc
from faceserve.images import ImageLike
from faceserve.retry import RETRYABLE, RetryPolicy
from faceserve.v1 import face_service_pb2_grpc, gallery_service_pb2_grpc


class Api:
    def _connect(self, channels, target: str, api_key: Optional[str], timeout: float,
                 retry: RetryPolicy, tls: bool, ca_file: Optional[str],
                 cert_file: Optional[str], key_file: Optional[str]) -> None:
        """The channel (from `channels`: grpc, or grpc.aio), stubs and
        settings every client holds."""
        creds = calls.credentials(tls, ca_file, cert_file, key_file)
        self._channel = (channels.secure_channel(target, creds, options=calls.CHANNEL_OPTIONS)
                         if creds else
                         channels.insecure_channel(target, options=calls.CHANNEL_OPTIONS))
        self._stubs = {"face": face_service_pb2_grpc.FaceServiceStub(self._channel),
                       "gallery": gallery_service_pb2_grpc.GalleryServiceStub(self._channel)}
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._metadata = [("authorization", f"Bearer {api_key}")] if api_key else []
        self.timeout = timeout
        self.retry = retry

    def _deadline(self, timeout: Optional[float]) -> float:
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def _wait_before_retry(self, call: calls.Call, error: grpc.RpcError, attempt: int,
                           deadline: float) -> float:
        """Seconds to wait before attempt `attempt` + 1, or raises the typed
        error when the call is not to be repeated."""
        wait = (self.retry.backoff(attempt, deadline - time.monotonic())
                if call.idempotent and error.code() in RETRYABLE else None)
        if wait is None:
            raise errors.from_rpc_error(error) from None
        return wait

    @staticmethod
    def _serving(response) -> bool:
        return response.status == health_pb2.HealthCheckResponse.SERVING

    @staticmethod
    def _health_request():
        return health_pb2.HealthCheckRequest()

    @staticmethod
    def _not_ready(timeout: float) -> errors.Unavailable:
        return errors.Unavailable(grpc.StatusCode.UNAVAILABLE, f"not SERVING within {timeout} s")

    def _invoke(self, call: calls.Call, timeout: Optional[float]):
        raise NotImplementedError

    def analyze(self, image: ImageLike, *, predictors: Sequence[str] = (),
                embeddings: bool = False, annotate: bool = False, crops: bool = False,
                detect_only: bool = False, min_score: float = 0.0, max_faces: int = 0,
                identify_gallery: str = "", top_k: int = 0, timeout: Optional[float] = None):
        """Every face with its box, landmarks and predictions -> results.Analysis."""
        return self._invoke(calls.analyze(
            image, predictors=predictors, embeddings=embeddings, annotate=annotate, crops=crops,
            detect_only=detect_only, min_score=min_score, max_faces=max_faces,
            identify_gallery=identify_gallery, top_k=top_k), timeout)

    def embed(self, image: ImageLike, *, selection: str = "all", predictor: str = "",
              timeout: Optional[float] = None):
        """Embeddings of the faces ("all", "largest", or "whole_image" for a
        face crop) -> [results.EmbeddedFace]."""
        return self._invoke(calls.embed(image, selection=selection, predictor=predictor), timeout)

    def verify(self, a, b, *, threshold: float = 0.0, predictor: str = "",
               timeout: Optional[float] = None):
        """Same person? `a`, `b`: images or embeddings -> results.Verification."""
        return self._invoke(calls.verify(a, b, threshold=threshold, predictor=predictor), timeout)

    def create_gallery(self, name: str, *, threshold: float = 0.0, predictor: str = "",
                       index: str = "auto", timeout: Optional[float] = None):
        return self._invoke(calls.create_gallery(name, threshold=threshold, predictor=predictor,
                                                 index=index), timeout)

    def delete_gallery(self, name: str, *, timeout: Optional[float] = None):
        return self._invoke(calls.delete_gallery(name), timeout)

    def list_galleries(self, *, timeout: Optional[float] = None):
        return self._invoke(calls.list_galleries(), timeout)

    def enroll(self, gallery: str, subject: str, images: Iterable[ImageLike] = (), *,
               embeddings: Iterable = (), metadata: Optional[Dict[str, str]] = None,
               largest: bool = False, idempotency_key: Optional[str] = None,
               timeout: Optional[float] = None):
        """Adds faces to a subject -> results.Enrollment (one outcome per
        input). Retried safely: the call carries an idempotency key (made
        here unless given)."""
        return self._invoke(calls.enroll(gallery, subject, images, embeddings=embeddings,
                                         metadata=metadata, largest=largest,
                                         idempotency_key=idempotency_key), timeout)

    def identify(self, gallery: str, image: ImageLike, *, top_k: int = 0,
                 threshold: float = 0.0, min_score: float = 0.0,
                 timeout: Optional[float] = None):
        """Who is each face? -> [results.IdentifiedFace]."""
        return self._invoke(calls.identify(gallery, image, top_k=top_k, threshold=threshold,
                                           min_score=min_score), timeout)

    def search(self, gallery: str, embeddings: Iterable, *, top_k: int = 0,
               threshold: float = 0.0, timeout: Optional[float] = None):
        """Identify embeddings -> [results.Identity], one per embedding."""
        return self._invoke(calls.search(gallery, embeddings, top_k=top_k, threshold=threshold),
                            timeout)

    def get_subject(self, gallery: str, subject: str, *, timeout: Optional[float] = None):
        return self._invoke(calls.get_subject(gallery, subject), timeout)

    def delete_subject(self, gallery: str, subject: str, *, timeout: Optional[float] = None):
        return self._invoke(calls.delete_subject(gallery, subject), timeout)
