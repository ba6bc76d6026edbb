"""faceserve's Python client: Client (blocking) and AsyncClient (asyncio)."""
from faceserve.aio import AsyncClient
from faceserve.client import Client
from faceserve.errors import (AlreadyExists, Cancelled, DeadlineExceeded, FaceserveError,
                              FailedPrecondition, Internal, InvalidArgument, NotFound,
                              PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable)
from faceserve.images import Pixels
from faceserve.results import (Analysis, Box, EmbeddedFace, Enrollment, EnrollOutcome, Face,
                               Gallery, IdentifiedFace, Identity, Match, StreamFrameResult, Subject,
                               TrackedFace, TrackIdentity, TrackSummary, Verification)
from faceserve.retry import NO_RETRIES, RetryPolicy

__all__ = [
    "AsyncClient", "Client", "Pixels", "RetryPolicy", "NO_RETRIES",
    "FaceserveError", "AlreadyExists", "Cancelled", "DeadlineExceeded", "FailedPrecondition",
    "Internal", "InvalidArgument", "NotFound", "PermissionDenied", "ResourceExhausted",
    "Unauthenticated", "Unavailable",
    "Analysis", "Box", "EmbeddedFace", "Enrollment", "EnrollOutcome", "Face", "Gallery",
    "IdentifiedFace", "Identity", "Match", "StreamFrameResult", "Subject", "TrackedFace",
    "TrackIdentity", "TrackSummary", "Verification",
]
