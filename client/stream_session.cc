#include "client/stream_session.h"

#include <atomic>
#include <thread>

#include "proto/rpc_status.h"

namespace faceserve::client {

absl::Status RunStream(v1::FaceService::Stub& stub, const v1::StreamConfig& config,
                       const FrameSource& next_frame, const ResponseSink& on_response) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamRequest, v1::StreamResponse>> stream =
      stub.AnalyzeStream(&context);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    v1::StreamRequest request;
    *request.mutable_config() = config;
    bool ok = stream->Write(request);
    while (ok && !stop.load()) {
      request.Clear();
      if (!next_frame(request.mutable_frame())) break;
      ok = stream->Write(request);
    }
    // A failed write means the call ended: its status comes from Finish().
    if (ok) stream->WritesDone();
  });
  v1::StreamResponse response;
  bool cancelled = false;
  while (stream->Read(&response)) {
    if (!cancelled && !on_response(response)) {
      cancelled = true;
      stop.store(true);
      context.TryCancel();
    }
  }
  stop.store(true);
  writer.join();
  const grpc::Status status = stream->Finish();
  if (cancelled) return absl::CancelledError("the stream was cancelled by its reader");
  return FromGrpcStatus(status);
}

}  // namespace faceserve::client
