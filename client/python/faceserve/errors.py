"""Errors of faceserve calls: one exception class per gRPC code, each carrying
the code, the server's message and the ErrorInfo reason (e.g. NO_FACE,
TOO_MANY_CALLS, GALLERY_NOT_FOUND; docs/errors.md in the repository)."""
from typing import Dict, Optional, Type

import grpc

from faceserve._rpc import error_details_pb2, status_pb2


class FaceserveError(Exception):
    """A call that failed. `code`: grpc.StatusCode; `reason`: faceserve's
    ErrorInfo reason ("" when the server gave none); `metadata`: the
    ErrorInfo's metadata (e.g. the field at fault)."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "",
                 metadata: Optional[Dict[str, str]] = None):
        super().__init__(f"{code.name}: {message}" + (f" [{reason}]" if reason else ""))
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})


class InvalidArgument(FaceserveError): pass
class NotFound(FaceserveError): pass
class AlreadyExists(FaceserveError): pass
class PermissionDenied(FaceserveError): pass
class Unauthenticated(FaceserveError): pass
class ResourceExhausted(FaceserveError): pass
class FailedPrecondition(FaceserveError): pass
class Unavailable(FaceserveError): pass
class DeadlineExceeded(FaceserveError): pass
class Cancelled(FaceserveError): pass
class Internal(FaceserveError): pass


_BY_CODE: Dict[grpc.StatusCode, Type[FaceserveError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: Internal,
}

_DETAILS_KEY = "grpc-status-details-bin"


def _error_info(trailing_metadata) -> error_details_pb2.ErrorInfo:
    for key, value in trailing_metadata or ():
        if key != _DETAILS_KEY:
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except Exception:  # a malformed trailer: no reason rather than no error
            break
        for any_detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if any_detail.Unpack(info):
                return info
    return error_details_pb2.ErrorInfo()


def from_rpc_error(error: grpc.RpcError) -> FaceserveError:
    """The typed exception of a failed call (sync or aio)."""
    code = error.code()
    info = _error_info(error.trailing_metadata())
    cls = _BY_CODE.get(code, FaceserveError)
    return cls(code, error.details() or "", info.reason, dict(info.metadata))
