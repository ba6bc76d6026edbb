// Which scope and gallery each RPC needs (issue 29): the whole policy in one
// table, an overload per request type, so that a new RPC does not compile
// until it has its line here. core/auth/access_scope.h says what the scopes
// are; api_key_service.proto documents the same table for clients.
#ifndef FACESERVE_SERVER_ACCESS_POLICY_H_
#define FACESERVE_SERVER_ACCESS_POLICY_H_

#include "core/auth/access_scope.h"
#include "faceserve/v1/api_key_service.pb.h"
#include "faceserve/v1/face_service.pb.h"
#include "faceserve/v1/gallery_service.pb.h"

namespace faceserve {

// FaceService.
AccessNeed NeedOf(const v1::AnalyzeRequest& request);
AccessNeed NeedOf(const v1::EmbedRequest& request);
AccessNeed NeedOf(const v1::VerifyRequest& request);
// GalleryService.
AccessNeed NeedOf(const v1::CreateGalleryRequest& request);
AccessNeed NeedOf(const v1::DeleteGalleryRequest& request);
AccessNeed NeedOf(const v1::ListGalleriesRequest& request);
AccessNeed NeedOf(const v1::EnrollRequest& request);
AccessNeed NeedOf(const v1::ListSubjectsRequest& request);
AccessNeed NeedOf(const v1::GetSubjectRequest& request);
AccessNeed NeedOf(const v1::UpdateSubjectRequest& request);
AccessNeed NeedOf(const v1::DeleteFaceRequest& request);
AccessNeed NeedOf(const v1::DeleteSubjectRequest& request);
AccessNeed NeedOf(const v1::IdentifyRequest& request);
AccessNeed NeedOf(const v1::SearchRequest& request);
// ApiKeyService.
AccessNeed NeedOf(const v1::CreateApiKeyRequest& request);
AccessNeed NeedOf(const v1::RevokeApiKeyRequest& request);
AccessNeed NeedOf(const v1::ListApiKeysRequest& request);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_ACCESS_POLICY_H_
