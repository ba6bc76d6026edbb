"""Each faceserve call as data: which stub method, the request, how to read
the answer, and whether repeating it is safe. Client and AsyncClient share
these and differ only in how they send them."""
import dataclasses
import uuid
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import grpc
import numpy as np

from faceserve import results
from faceserve.images import ImageLike, to_image
from faceserve.v1 import face_service_pb2 as pb
from faceserve.v1 import gallery_service_pb2 as gpb

_SELECTION = {"all": pb.FACE_SELECTION_ALL, "largest": pb.FACE_SELECTION_LARGEST,
              "whole_image": pb.FACE_SELECTION_WHOLE_IMAGE}
_INDEX = {"auto": gpb.INDEX_AUTO, "exact": gpb.INDEX_EXACT,
          "approximate": gpb.INDEX_APPROXIMATE}


@dataclasses.dataclass(frozen=True)
class Call:
    service: str              # "face" or "gallery"
    method: str               # the stub's attribute, e.g. "Analyze"
    request: Any
    convert: Callable[[Any], Any]
    idempotent: bool


def _choice(table: Dict[str, int], value: str, what: str) -> int:
    if value not in table:
        raise ValueError(f"{what} must be one of {sorted(table)}, not {value!r}")
    return table[value]


def _embedding(values) -> pb.Embedding:
    return pb.Embedding(values=np.asarray(values, dtype=np.float32).ravel().tolist())


def _face_input(side) -> pb.FaceInput:
    if isinstance(side, np.ndarray) and side.ndim == 1:
        return pb.FaceInput(embedding=_embedding(side))
    return pb.FaceInput(image=to_image(side))


def analyze(image: ImageLike, *, predictors: Sequence[str] = (), embeddings: bool = False,
            annotate: bool = False, crops: bool = False, detect_only: bool = False,
            min_score: float = 0.0, max_faces: int = 0, identify_gallery: str = "",
            top_k: int = 0) -> Call:
    options = pb.AnalyzeOptions(predictors=list(predictors), return_embeddings=embeddings,
                                return_annotated_image=annotate, return_face_crops=crops,
                                detect_only=detect_only, min_detection_score=min_score,
                                max_faces=max_faces)
    if identify_gallery:
        options.identify.CopyFrom(pb.IdentifyOptions(gallery=identify_gallery, top_k=top_k))
    request = pb.AnalyzeRequest(image=to_image(image), options=options)
    return Call("face", "Analyze", request, results.Analysis.of, True)


def embed(image: ImageLike, *, selection: str = "all", predictor: str = "") -> Call:
    request = pb.EmbedRequest(image=to_image(image), predictor=predictor,
                              selection=_choice(_SELECTION, selection, "selection"))
    return Call("face", "Embed", request,
                lambda r: [results.EmbeddedFace.of(f) for f in r.faces], True)


def verify(a, b, *, threshold: float = 0.0, predictor: str = "") -> Call:
    """`a`, `b`: images (their largest face) or embeddings (1-D arrays)."""
    request = pb.VerifyRequest(a=_face_input(a), b=_face_input(b), threshold=threshold,
                               predictor=predictor)
    return Call("face", "Verify", request, results.Verification.of, True)


def create_gallery(name: str, *, threshold: float = 0.0, predictor: str = "",
                   index: str = "auto") -> Call:
    request = gpb.CreateGalleryRequest(name=name, threshold=threshold, predictor=predictor,
                                       index=_choice(_INDEX, index, "index"))
    # Not retried: a repeat after a lost answer would say ALREADY_EXISTS.
    return Call("gallery", "CreateGallery", request, results.Gallery.of, False)


def delete_gallery(name: str) -> Call:
    return Call("gallery", "DeleteGallery", gpb.DeleteGalleryRequest(name=name),
                lambda r: None, False)


def list_galleries() -> Call:
    return Call("gallery", "ListGalleries", gpb.ListGalleriesRequest(),
                lambda r: [results.Gallery.of(g) for g in r.galleries], True)


def enroll(gallery: str, subject: str, images: Iterable[ImageLike] = (), *,
           embeddings: Iterable = (), metadata: Optional[Dict[str, str]] = None,
           largest: bool = False, idempotency_key: Optional[str] = None) -> Call:
    inputs: List[gpb.EnrollInput] = [gpb.EnrollInput(image=to_image(i)) for i in images]
    inputs += [gpb.EnrollInput(embedding=_embedding(e)) for e in embeddings]
    # One key per call, made here, so that every retry of this call carries
    # the same one and the server enrolls at most once.
    key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
    request = gpb.EnrollRequest(gallery=gallery, subject=subject, inputs=inputs,
                                metadata=metadata or {}, largest=largest, idempotency_key=key)
    return Call("gallery", "Enroll", request, results.Enrollment.of, True)


def identify(gallery: str, image: ImageLike, *, top_k: int = 0, threshold: float = 0.0,
             min_score: float = 0.0) -> Call:
    request = gpb.IdentifyRequest(
        image=to_image(image), min_detection_score=min_score,
        options=pb.IdentifyOptions(gallery=gallery, top_k=top_k, threshold=threshold))
    return Call("gallery", "Identify", request,
                lambda r: [results.IdentifiedFace.of(f) for f in r.faces], True)


def search(gallery: str, embeddings: Iterable, *, top_k: int = 0,
           threshold: float = 0.0) -> Call:
    request = gpb.SearchRequest(
        options=pb.IdentifyOptions(gallery=gallery, top_k=top_k, threshold=threshold),
        queries=[_embedding(e) for e in embeddings])
    return Call("gallery", "Search", request,
                lambda r: [results.Identity.of(i) for i in r.results], True)


def get_subject(gallery: str, subject: str) -> Call:
    return Call("gallery", "GetSubject", gpb.GetSubjectRequest(gallery=gallery, subject=subject),
                results.Subject.of, True)


def delete_subject(gallery: str, subject: str) -> Call:
    return Call("gallery", "DeleteSubject",
                gpb.DeleteSubjectRequest(gallery=gallery, subject=subject), lambda r: None, False)


def credentials(tls: bool, ca_file: Optional[str], cert_file: Optional[str],
                key_file: Optional[str]) -> Optional[grpc.ChannelCredentials]:
    """None: plaintext. TLS with the system's roots, or `ca_file`'s; a client
    certificate for mutual TLS with `cert_file` and `key_file`."""
    if not (tls or ca_file or cert_file):
        return None

    def read(path):
        return open(path, "rb").read() if path else None
    return grpc.ssl_channel_credentials(root_certificates=read(ca_file),
                                        private_key=read(key_file),
                                        certificate_chain=read(cert_file))


# Requests up to the server's default limit (server.max_message_bytes, 32 MiB).
CHANNEL_OPTIONS = [("grpc.max_send_message_length", 32 << 20),
                   ("grpc.max_receive_message_length", 64 << 20)]


_OVERFLOW = {"drop_oldest": pb.OVERFLOW_DROP_OLDEST, "block": pb.OVERFLOW_BLOCK}


def stream_requests(frames, *, predictors: Sequence[str] = (), embeddings: bool = False,
                    detect_every: int = 1, overflow: str = "drop_oldest",
                    max_queued: int = 0, lost_track_ttl_ms: int = 0, fps: float = 25.0,
                    identify_gallery: str = "", best_shots: bool = False,
                    smoothing_ms: int = 0):
    """AnalyzeStream's requests: the config, then each frame. `frames`: images,
    or (image, timestamp in seconds) pairs; bare images get timestamps at
    `fps`."""
    options = pb.AnalyzeOptions(predictors=list(predictors), return_embeddings=embeddings)
    if identify_gallery:
        options.identify.CopyFrom(pb.IdentifyOptions(gallery=identify_gallery))
    config = pb.StreamConfig(
        options=options,
        detect_every=detect_every, overflow=_choice(_OVERFLOW, overflow, "overflow"),
        max_queued_frames=max_queued, lost_track_ttl_ms=lost_track_ttl_ms,
        return_best_shots=best_shots, smoothing_ms=smoothing_ms)
    yield pb.StreamRequest(config=config)
    for sequence, frame in enumerate(frames):
        image, seconds = frame if isinstance(frame, tuple) else (frame, sequence / fps)
        yield pb.StreamRequest(frame=pb.StreamFrame(
            image=to_image(image), timestamp_us=int(round(seconds * 1e6)), sequence=sequence))
