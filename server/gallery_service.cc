#include "server/gallery_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "core/error_reason.h"
#include "server/gallery_convert.h"
#include "server/metrics.h"

namespace faceserve {

using Call = std::shared_ptr<ServerCall>;

void GalleryServiceImpl::PublishFaceCounts() {
  if (metrics_ == nullptr) return;
  for (const auto& [name, faces] : galleries_->FaceCounts()) metrics_->SetGalleryFaces(name, faces);
}

void GalleryServiceImpl::PublishFaceCount(const std::string& gallery) {
  if (metrics_ == nullptr) return;
  if (std::optional<int64_t> faces = galleries_->FaceCount(gallery)) {
    metrics_->SetGalleryFaces(gallery, *faces);
  }
}

void GalleryServiceImpl::CountEnroll(const absl::StatusOr<Identifier::EnrollResult>& result) {
  if (metrics_ == nullptr) return;
  if (!result.ok()) {
    if (ReasonOf(result.status()) != ErrorReason::kEnrollRejected) return;
    for (const auto& [key, rule] : MetadataOf(result.status())) {
      if (absl::StartsWith(key, "input.")) metrics_->OnEnrollInput(rule);
    }
    return;
  }
  if (result->replayed.has_value()) return;  // counted the first time
  for (const EnrollItem& item : result->outcome.items) {
    metrics_->OnEnrollInput(item.rejection.has_value() ? item.rejection->rule : "accepted");
  }
}

grpc::ServerUnaryReactor* GalleryServiceImpl::CreateGallery(
    grpc::CallbackServerContext* context, const v1::CreateGalleryRequest* request,
    v1::Gallery* response) {
  return StartCall(gate_, "CreateGallery", context, *request, &CheckCreateGallery,
                   [this, response](Call call, v1::CreateGalleryRequest in) {
                     absl::StatusOr<GalleryInfo> info =
                         identifier_->CreateGallery(in.name(), in.predictor(), in.threshold(),
                                                    IndexKindFromProto(in.index()));
                     if (info.ok()) {
                       GalleryInfoToProto(*info, response);
                       PublishFaceCount(in.name());
                     }
                     call->FinishWith(info.status());
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::DeleteGallery(
    grpc::CallbackServerContext* context, const v1::DeleteGalleryRequest* request,
    v1::DeleteGalleryResponse*) {
  return StartCall(gate_, "DeleteGallery", context, *request, &CheckDeleteGallery,
                   [this](Call call, v1::DeleteGalleryRequest in) {
                     absl::Status s = galleries_->Delete(in.name());
                     if (s.ok() && metrics_ != nullptr) metrics_->RemoveGallery(in.name());
                     call->FinishWith(s);
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::ListGalleries(
    grpc::CallbackServerContext* context, const v1::ListGalleriesRequest* request,
    v1::ListGalleriesResponse* response) {
  return StartCall(gate_, "ListGalleries", context, *request, &CheckListGalleries,
                   [this, response](Call call, v1::ListGalleriesRequest) {
                     absl::StatusOr<std::vector<GalleryInfo>> all = galleries_->List();
                     // A key sees the galleries it is granted, no others.
                     const ApiKeyRecord* key = call->caller().key.get();
                     if (all.ok()) {
                       for (const GalleryInfo& g : *all) {
                         if (key != nullptr && !key->Grants(g.name)) continue;
                         GalleryInfoToProto(g, response->add_galleries());
                       }
                     }
                     call->FinishWith(all.status());
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::Enroll(grpc::CallbackServerContext* context,
                                                     const v1::EnrollRequest* request,
                                                     v1::EnrollResponse* response) {
  return StartCall(
      gate_, "Enroll", context, *request, &EnrollCallFromProto,
      [this, response](Call call, EnrollCall in) {
        const std::string gallery = in.request.gallery, subject = in.request.subject;
        identifier_->Enroll(
            std::move(in.request), std::move(in.idempotency), ServerCall::ContextOf(call),
            [this, call, response, gallery,
             subject](absl::StatusOr<Identifier::EnrollResult> result) {
              CountEnroll(result);
              if (!result.ok()) return call->FinishWith(result.status());
              if (result->replayed.has_value()) {
                return call->FinishWith(EnrollResponseFromStored(*result->replayed, response));
              }
              EnrollOutcomeToProto(result->outcome, subject, response);
              PublishFaceCount(gallery);
              call->FinishWith(absl::OkStatus());
            });
      });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::ListSubjects(
    grpc::CallbackServerContext* context, const v1::ListSubjectsRequest* request,
    v1::ListSubjectsResponse* response) {
  return StartCall(gate_, "ListSubjects", context, *request, &CheckListSubjects,
                   [this, response](Call call, v1::ListSubjectsRequest in) {
                     absl::StatusOr<SubjectPage> page =
                         galleries_->ListSubjects(in.gallery(), in.page_token(), in.page_size());
                     if (page.ok()) {
                       for (const SubjectInfo& s : page->subjects) {
                         SubjectToProto(s, response->add_subjects());
                       }
                       response->set_next_page_token(page->next_page_token);
                     }
                     call->FinishWith(page.status());
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::GetSubject(grpc::CallbackServerContext* context,
                                                         const v1::GetSubjectRequest* request,
                                                         v1::Subject* response) {
  return StartCall(gate_, "GetSubject", context, *request, &CheckGetSubject,
                   [this, response](Call call, v1::GetSubjectRequest in) {
                     absl::StatusOr<SubjectInfo> s = galleries_->GetSubject(
                         in.gallery(), in.subject(), in.include_embeddings());
                     if (s.ok()) SubjectToProto(*s, response);
                     call->FinishWith(s.status());
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::UpdateSubject(
    grpc::CallbackServerContext* context, const v1::UpdateSubjectRequest* request,
    v1::Subject* response) {
  const std::string gallery = request->gallery(), subject = request->subject();
  return StartCall(gate_, "UpdateSubject", context, *request, &CheckUpdateSubject,
                   [this, response, gallery, subject](Call call, Metadata metadata) {
                     absl::Status updated = galleries_->UpdateMetadata(gallery, subject, metadata);
                     if (!updated.ok()) return call->FinishWith(updated);
                     absl::StatusOr<SubjectInfo> s = galleries_->GetSubject(gallery, subject, false);
                     if (s.ok()) SubjectToProto(*s, response);
                     call->FinishWith(s.status());
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::DeleteFace(grpc::CallbackServerContext* context,
                                                         const v1::DeleteFaceRequest* request,
                                                         v1::DeleteFaceResponse*) {
  return StartCall(gate_, "DeleteFace", context, *request, &CheckDeleteFace,
                   [this](Call call, v1::DeleteFaceRequest in) {
                     absl::Status s = galleries_->DeleteFace(in.gallery(), in.face_id());
                     if (s.ok()) PublishFaceCount(in.gallery());
                     call->FinishWith(s);
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::DeleteSubject(
    grpc::CallbackServerContext* context, const v1::DeleteSubjectRequest* request,
    v1::DeleteSubjectResponse*) {
  return StartCall(gate_, "DeleteSubject", context, *request, &CheckDeleteSubject,
                   [this](Call call, v1::DeleteSubjectRequest in) {
                     absl::Status s = galleries_->DeleteSubject(in.gallery(), in.subject());
                     if (s.ok()) PublishFaceCount(in.gallery());
                     call->FinishWith(s);
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::Identify(grpc::CallbackServerContext* context,
                                                       const v1::IdentifyRequest* request,
                                                       v1::IdentifyResponse* response) {
  return StartCall(gate_, "Identify", context, *request, &IdentifyCallFromProto,
                   [this, response](Call call, IdentifyCall in) {
                     const std::string gallery = in.identify.gallery;
                     identifier_->Identify(
                         std::move(in.image), std::move(in.options), std::move(in.identify),
                         ServerCall::ContextOf(call),
                         [call, response, gallery](absl::StatusOr<IdentifiedAnalysis> result) {
                           if (result.ok()) IdentifiedAnalysisToProto(*result, gallery, response);
                           call->FinishWith(result.status());
                         });
                   });
}

grpc::ServerUnaryReactor* GalleryServiceImpl::Search(grpc::CallbackServerContext* context,
                                                     const v1::SearchRequest* request,
                                                     v1::SearchResponse* response) {
  return StartCall(gate_, "Search", context, *request, &SearchCallFromProto,
                   [this, response](Call call, SearchCall in) {
                     identifier_->Search(
                         std::move(in.queries), std::move(in.identify),
                         [call, response](absl::StatusOr<std::vector<Identity>> result) {
                           if (result.ok()) {
                             for (const Identity& id : *result) {
                               IdentityToProto(id, response->add_results());
                             }
                           }
                           call->FinishWith(result.status());
                         });
                   });
}

}  // namespace faceserve
