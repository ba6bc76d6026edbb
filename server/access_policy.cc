#include "server/access_policy.h"

#include <string>

namespace faceserve {
namespace {

AccessNeed Needs(Scope scope, std::string gallery = "") {
  return AccessNeed{{scope}, std::move(gallery), false};
}

// Reading a gallery's people: those who search it or those who keep it.
AccessNeed ReadsSubjects(const std::string& gallery) {
  return AccessNeed{{Scope::kIdentify, Scope::kEnroll}, gallery, false};
}

AccessNeed ManagesKeys() { return AccessNeed{{Scope::kAdmin}, "", true}; }

}  // namespace

AccessNeed NeedOf(const v1::AnalyzeRequest& r) {
  if (r.options().has_identify()) return Needs(Scope::kIdentify, r.options().identify().gallery());
  return Needs(Scope::kAnalyze);
}
AccessNeed NeedOf(const v1::EmbedRequest&) { return Needs(Scope::kAnalyze); }
AccessNeed NeedOf(const v1::VerifyRequest&) { return Needs(Scope::kAnalyze); }

AccessNeed NeedOf(const v1::CreateGalleryRequest& r) { return Needs(Scope::kAdmin, r.name()); }
AccessNeed NeedOf(const v1::DeleteGalleryRequest& r) { return Needs(Scope::kAdmin, r.name()); }
// Any valid key; the answer holds only the galleries it is granted.
AccessNeed NeedOf(const v1::ListGalleriesRequest&) { return AccessNeed{}; }
AccessNeed NeedOf(const v1::EnrollRequest& r) { return Needs(Scope::kEnroll, r.gallery()); }
AccessNeed NeedOf(const v1::ListSubjectsRequest& r) { return ReadsSubjects(r.gallery()); }
AccessNeed NeedOf(const v1::GetSubjectRequest& r) { return ReadsSubjects(r.gallery()); }
AccessNeed NeedOf(const v1::UpdateSubjectRequest& r) { return Needs(Scope::kEnroll, r.gallery()); }
AccessNeed NeedOf(const v1::DeleteFaceRequest& r) { return Needs(Scope::kEnroll, r.gallery()); }
AccessNeed NeedOf(const v1::DeleteSubjectRequest& r) { return Needs(Scope::kEnroll, r.gallery()); }
AccessNeed NeedOf(const v1::IdentifyRequest& r) {
  return Needs(Scope::kIdentify, r.options().gallery());
}
AccessNeed NeedOf(const v1::SearchRequest& r) {
  return Needs(Scope::kIdentify, r.options().gallery());
}

AccessNeed NeedOf(const v1::CreateApiKeyRequest&) { return ManagesKeys(); }
AccessNeed NeedOf(const v1::RevokeApiKeyRequest&) { return ManagesKeys(); }
AccessNeed NeedOf(const v1::ListApiKeysRequest&) { return ManagesKeys(); }

}  // namespace faceserve
