// RunStream: one AnalyzeStream call driven to its end, as facectl's stream
// and eval-track commands need it. A writer thread sends the config and then
// every frame `next_frame` gives (with OVERFLOW_BLOCK, gRPC's flow control
// holds it while the server is busy); the calling thread reads the responses
// and hands each to `on_response`, in order. Returns the call's status.
//
// The stream has no deadline (a video outlasts --timeout-ms); cancel it by
// returning false from `on_response`.
#ifndef FACESERVE_CLIENT_STREAM_SESSION_H_
#define FACESERVE_CLIENT_STREAM_SESSION_H_

#include <functional>

#include "absl/status/status.h"
#include "client/rpc_support.h"
#include "faceserve/v1/face_service.grpc.pb.h"

namespace faceserve::client {

// Fills `frame` with the next frame to send; false when there is none left.
using FrameSource = std::function<bool(v1::StreamFrame* frame)>;
// Takes one response; false cancels the stream.
using ResponseSink = std::function<bool(const v1::StreamResponse& response)>;

absl::Status RunStream(v1::FaceService::Stub& stub, const v1::StreamConfig& config,
                       const FrameSource& next_frame, const ResponseSink& on_response);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_STREAM_SESSION_H_
