#include "server/face_service.h"

#include <memory>
#include <utility>

#include "core/error_reason.h"
#include "server/gallery_convert.h"
#include "server/proto_convert.h"

namespace faceserve {

FaceServiceImpl::FaceServiceImpl(const ServerConfig& config, FacePipeline* pipeline,
                                 Metrics* metrics, Identifier* identifier,
                                 AccessControl* access)
    : pipeline_(pipeline), identifier_(identifier), gate_(config, pipeline, metrics, access),
      streams_(absl::Milliseconds(config.stream_idle_timeout_ms)) {}

FaceServiceImpl::~FaceServiceImpl() = default;

void FaceServiceImpl::BeginShutdown() {
  gate_.BeginShutdown();
  streams_.StopAll(
      WithReason(absl::UnavailableError("server is shutting down"), ErrorReason::kShuttingDown));
}

grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>* FaceServiceImpl::AnalyzeStream(
    grpc::CallbackServerContext* context) {
  return ::faceserve::AnalyzeStream::Start(&gate_, pipeline_, identifier_, &streams_, context);
}

grpc::ServerUnaryReactor* FaceServiceImpl::Analyze(grpc::CallbackServerContext* context,
                                                   const v1::AnalyzeRequest* request,
                                                   v1::AnalyzeResponse* response) {
  return StartCall(
      &gate_, "Analyze", context, *request, &AnalyzeCallFromProto,
      [this, response](std::shared_ptr<ServerCall> call, AnalyzeCall in) {
        const bool return_embeddings = in.options.return_embeddings;
        if (!in.identify.has_value()) {
          pipeline_->Analyze(
              std::move(in.image), std::move(in.options), ServerCall::ContextOf(call),
              [call, response, return_embeddings](absl::StatusOr<AnalyzeResult> result) {
                if (result.ok()) AnalyzeResultToProto(*result, return_embeddings, response);
                call->FinishWith(result.status());
              });
          return;
        }
        if (identifier_ == nullptr) {
          call->FinishWith(GalleriesOff());
          return;
        }
        identifier_->AnalyzeAndIdentify(
            std::move(in.image), std::move(in.options), *std::move(in.identify),
            ServerCall::ContextOf(call),
            [call, response, return_embeddings](absl::StatusOr<IdentifiedAnalysis> result) {
              if (result.ok()) {
                AnalyzeResultToProto(result->analysis, return_embeddings, response);
                for (int i = 0; i < response->faces_size(); ++i) {
                  IdentityToProto(result->identities[i], response->mutable_faces(i)->mutable_identity());
                }
              }
              call->FinishWith(result.status());
            });
      });
}

grpc::ServerUnaryReactor* FaceServiceImpl::Embed(grpc::CallbackServerContext* context,
                                                 const v1::EmbedRequest* request,
                                                 v1::EmbedResponse* response) {
  return StartCall(&gate_, "Embed", context, *request, &EmbedCallFromProto,
                   [this, response](std::shared_ptr<ServerCall> call, EmbedCall in) {
                     pipeline_->Embed(std::move(in.image), std::move(in.options),
                                      ServerCall::ContextOf(call),
                                      [call, response](absl::StatusOr<EmbedResult> result) {
                                        if (result.ok()) EmbedResultToProto(*result, response);
                                        call->FinishWith(result.status());
                                      });
                   });
}

grpc::ServerUnaryReactor* FaceServiceImpl::Verify(grpc::CallbackServerContext* context,
                                                  const v1::VerifyRequest* request,
                                                  v1::VerifyResponse* response) {
  return StartCall(&gate_, "Verify", context, *request, &VerifyCallFromProto,
                   [this, response](std::shared_ptr<ServerCall> call, VerifyCall in) {
                     pipeline_->Verify(std::move(in.a), std::move(in.b), std::move(in.options),
                                       ServerCall::ContextOf(call),
                                       [call, response](absl::StatusOr<VerifyResult> result) {
                                         if (result.ok()) VerifyResultToProto(*result, response);
                                         call->FinishWith(result.status());
                                       });
                   });
}

}  // namespace faceserve
