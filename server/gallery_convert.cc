#include "server/gallery_convert.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "core/error_reason.h"
#include "core/invalid_field.h"
#include "server/proto_convert.h"

namespace faceserve {
namespace {

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxMetadataValueBytes = 4096;
constexpr int kMaxMetadataEntries = 64;
constexpr size_t kMaxIdempotencyKeyBytes = 128;


absl::Status CheckName(const std::string& value, absl::string_view field) {
  if (value.empty()) return InvalidFieldError(field, "required");
  if (value.size() > kMaxNameBytes) {
    return InvalidFieldError(field, absl::StrCat("longer than ", kMaxNameBytes, " bytes"));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return InvalidFieldError(field, "contains a control character");
  }
  return absl::OkStatus();
}

absl::StatusOr<Metadata> MetadataFromProto(
    const google::protobuf::Map<std::string, std::string>& metadata, absl::string_view field) {
  if (metadata.size() > kMaxMetadataEntries) {
    return InvalidFieldError(field, absl::StrCat("more than ", kMaxMetadataEntries, " entries"));
  }
  Metadata out;
  for (const auto& [key, value] : metadata) {
    if (absl::Status s = CheckName(key, absl::StrCat(field, " key")); !s.ok()) return s;
    if (value.size() > kMaxMetadataValueBytes) {
      return InvalidFieldError(absl::StrCat(field, "[", key, "]"),
                     absl::StrCat("longer than ", kMaxMetadataValueBytes, " bytes"));
    }
    out[key] = value;
  }
  return out;
}

absl::StatusOr<std::vector<float>> EmbeddingFromProto(const v1::Embedding& e,
                                                      absl::string_view field) {
  if (e.values().empty()) return InvalidFieldError(field, "no values");
  for (int i = 0; i < e.values_size(); ++i) {
    if (!std::isfinite(e.values(i))) return InvalidFieldError(field, absl::StrCat("values[", i, "] not finite"));
  }
  return std::vector<float>(e.values().begin(), e.values().end());
}

// A fingerprint of the request for its idempotency key: FNV-1a (64 bit) of
// its deterministic serialization, with its length. Stable across builds.
std::string Fingerprint(v1::EnrollRequest request) {
  request.clear_idempotency_key();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("fnv1a64:%016x:%d", h, bytes.size());
}

}  // namespace

absl::Status GalleriesOff() {
  return WithReason(
      absl::FailedPreconditionError("this server has no galleries (gallery.backend: none)"),
      ErrorReason::kModelNotConfigured);
}

absl::StatusOr<IdentifyOptions> IdentifyOptionsFromProto(const v1::IdentifyOptions& options,
                                                         absl::string_view field) {
  IdentifyOptions out;
  if (absl::Status s = CheckName(options.gallery(), absl::StrCat(field, ".gallery")); !s.ok()) {
    return s;
  }
  if (options.top_k() < 0 || options.top_k() > kMaxTopK) {
    return InvalidFieldError(absl::StrCat(field, ".top_k"), absl::StrCat("must be 0 to ", kMaxTopK));
  }
  const float t = options.threshold();
  if (!std::isfinite(t) || t < 0 || t > 1) {
    return InvalidFieldError(absl::StrCat(field, ".threshold"), "must be 0 (the gallery's) or in (0, 1]");
  }
  out.gallery = options.gallery();
  out.top_k = options.top_k() == 0 ? 1 : options.top_k();
  out.threshold = t;
  return out;
}

void IdentityToProto(const Identity& identity, v1::Identity* out) {
  for (const SubjectMatch& m : identity.matches) {
    v1::SubjectMatch* pm = out->add_matches();
    pm->set_subject(m.subject);
    pm->set_face_id(m.face_id);
    pm->set_similarity(m.similarity);
  }
  out->set_identified(identity.identified);
  out->set_threshold(identity.threshold);
}

void GalleryInfoToProto(const GalleryInfo& info, v1::Gallery* out) {
  out->set_name(info.name);
  out->set_subject_count(info.subjects);
  out->set_face_count(info.faces);
  out->set_descriptor_model(info.model.id);
  out->set_dimension(info.model.dimension);
  out->set_threshold(info.threshold);
  out->set_created_unix_ms(absl::ToUnixMillis(info.created));
  out->set_index(info.index == IndexKind::kExact         ? v1::INDEX_EXACT
                 : info.index == IndexKind::kApproximate ? v1::INDEX_APPROXIMATE
                                                         : v1::INDEX_AUTO);
  out->set_approximate(info.approximate);
}

IndexKind IndexKindFromProto(v1::GalleryIndex index) {
  switch (index) {
    case v1::INDEX_EXACT:
      return IndexKind::kExact;
    case v1::INDEX_APPROXIMATE:
      return IndexKind::kApproximate;
    default:
      return IndexKind::kAuto;
  }
}

void SubjectToProto(const SubjectInfo& subject, v1::Subject* out) {
  out->set_subject(subject.subject);
  for (const auto& [key, value] : subject.metadata) (*out->mutable_metadata())[key] = value;
  for (size_t i = 0; i < subject.face_ids.size(); ++i) {
    v1::EnrolledFace* face = out->add_faces();
    face->set_face_id(subject.face_ids[i]);
    if (i < subject.face_created.size()) {
      face->set_created_unix_ms(absl::ToUnixMillis(subject.face_created[i]));
    }
    if (i < subject.embeddings.size()) {
      *face->mutable_embedding()->mutable_values() = {subject.embeddings[i].begin(),
                                                      subject.embeddings[i].end()};
    }
  }
  out->set_created_unix_ms(absl::ToUnixMillis(subject.created));
}

absl::StatusOr<v1::CreateGalleryRequest> CheckCreateGallery(const v1::CreateGalleryRequest& r) {
  if (absl::Status s = CheckName(r.name(), "name"); !s.ok()) return s;
  if (!std::isfinite(r.threshold()) || r.threshold() < 0 || r.threshold() > 1) {
    return InvalidFieldError("threshold", "must be 0 (the predictor's) or in (0, 1]");
  }
  if (!v1::GalleryIndex_IsValid(r.index())) {
    return InvalidFieldError("index", "must be INDEX_AUTO, INDEX_EXACT or INDEX_APPROXIMATE");
  }
  return r;
}

absl::StatusOr<v1::DeleteGalleryRequest> CheckDeleteGallery(const v1::DeleteGalleryRequest& r) {
  if (absl::Status s = CheckName(r.name(), "name"); !s.ok()) return s;
  return r;
}

absl::StatusOr<v1::ListGalleriesRequest> CheckListGalleries(const v1::ListGalleriesRequest& r) {
  return r;
}

absl::StatusOr<v1::ListSubjectsRequest> CheckListSubjects(const v1::ListSubjectsRequest& r) {
  if (absl::Status s = CheckName(r.gallery(), "gallery"); !s.ok()) return s;
  if (r.page_size() < 0 || r.page_size() > kMaxPageSize) {
    return InvalidFieldError("page_size", absl::StrCat("must be 0 (100) to ", kMaxPageSize));
  }
  v1::ListSubjectsRequest out = r;
  if (out.page_size() == 0) out.set_page_size(100);
  return out;
}

absl::StatusOr<v1::GetSubjectRequest> CheckGetSubject(const v1::GetSubjectRequest& r) {
  if (absl::Status s = CheckName(r.gallery(), "gallery"); !s.ok()) return s;
  if (absl::Status s = CheckName(r.subject(), "subject"); !s.ok()) return s;
  return r;
}

absl::StatusOr<Metadata> CheckUpdateSubject(const v1::UpdateSubjectRequest& r) {
  if (absl::Status s = CheckName(r.gallery(), "gallery"); !s.ok()) return s;
  if (absl::Status s = CheckName(r.subject(), "subject"); !s.ok()) return s;
  return MetadataFromProto(r.metadata(), "metadata");
}

absl::StatusOr<v1::DeleteFaceRequest> CheckDeleteFace(const v1::DeleteFaceRequest& r) {
  if (absl::Status s = CheckName(r.gallery(), "gallery"); !s.ok()) return s;
  if (r.face_id() <= 0) return InvalidFieldError("face_id", "must be positive");
  return r;
}

absl::StatusOr<v1::DeleteSubjectRequest> CheckDeleteSubject(const v1::DeleteSubjectRequest& r) {
  if (absl::Status s = CheckName(r.gallery(), "gallery"); !s.ok()) return s;
  if (absl::Status s = CheckName(r.subject(), "subject"); !s.ok()) return s;
  return r;
}

absl::StatusOr<EnrollCall> EnrollCallFromProto(const v1::EnrollRequest& request) {
  if (absl::Status s = CheckName(request.gallery(), "gallery"); !s.ok()) return s;
  if (absl::Status s = CheckName(request.subject(), "subject"); !s.ok()) return s;
  if (request.inputs().empty() || request.inputs_size() > kMaxEnrollInputs) {
    return InvalidFieldError("inputs", absl::StrCat("1 to ", kMaxEnrollInputs, " inputs"));
  }
  if (request.idempotency_key().size() > kMaxIdempotencyKeyBytes) {
    return InvalidFieldError("idempotency_key", absl::StrCat("longer than ", kMaxIdempotencyKeyBytes));
  }
  EnrollCall call;
  EnrollRequest& out = call.request;
  out.gallery = request.gallery();
  out.subject = request.subject();
  out.largest = request.largest();
  absl::StatusOr<Metadata> metadata = MetadataFromProto(request.metadata(), "metadata");
  if (!metadata.ok()) return metadata.status();
  out.metadata = *std::move(metadata);
  int images = 0;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const v1::EnrollInput& in = request.inputs(i);
    const std::string field = absl::StrCat("inputs.", i);
    EnrollInput input;
    switch (in.source_case()) {
      case v1::EnrollInput::kImage: {
        if (++images > kMaxEnrollImages) {
          return InvalidFieldError("inputs", absl::StrCat("more than ", kMaxEnrollImages, " images"));
        }
        absl::StatusOr<ImageInput> image = ImageFromProto(in.image(), field + ".image");
        if (!image.ok()) return image.status();
        input.image = *std::move(image);
        break;
      }
      case v1::EnrollInput::kEmbedding: {
        absl::StatusOr<std::vector<float>> e = EmbeddingFromProto(in.embedding(), field + ".embedding");
        if (!e.ok()) return e.status();
        input.is_embedding = true;
        input.embedding = *std::move(e);
        break;
      }
      default:
        return InvalidFieldError(field, "not set (set image or embedding)");
    }
    if (in.has_box()) {
      const Box box{in.box().x1(), in.box().y1(), in.box().x2(), in.box().y2()};
      if (!(box.width() > 0 && box.height() > 0)) return InvalidFieldError(field + ".box", "empty box");
      input.box = box;
    }
    out.inputs.push_back(std::move(input));
  }
  if (!request.idempotency_key().empty()) {
    const std::string subject = request.subject();
    call.idempotency = Identifier::Idempotency{
        request.idempotency_key(), Fingerprint(request),
        [subject](const EnrollOutcome& outcome) {
          v1::EnrollResponse response;
          EnrollOutcomeToProto(outcome, subject, &response);
          return response.SerializeAsString();
        }};
  }
  return call;
}

void EnrollOutcomeToProto(const EnrollOutcome& outcome, const std::string& subject,
                          v1::EnrollResponse* out) {
  out->set_subject(subject);
  for (const EnrollItem& item : outcome.items) {
    v1::EnrollResult* r = out->add_results();
    r->set_face_id(item.face_id);
    if (item.box.has_value()) BoxToProto(*item.box, r->mutable_box());
    if (item.rejection.has_value()) {
      v1::Rejection* j = r->mutable_rejection();
      j->set_rule(item.rejection->rule);
      j->set_message(item.rejection->message);
      j->set_value(item.rejection->value);
      j->set_limit(item.rejection->limit);
    }
  }
}

absl::Status EnrollResponseFromStored(const std::string& bytes, v1::EnrollResponse* out) {
  if (!out->ParseFromString(bytes)) {
    return absl::InternalError("a stored Enroll response does not parse");
  }
  out->set_replayed(true);
  return absl::OkStatus();
}

absl::StatusOr<IdentifyCall> IdentifyCallFromProto(const v1::IdentifyRequest& request) {
  IdentifyCall call;
  absl::StatusOr<ImageInput> image = ImageFromProto(request.image(), "image");
  if (!image.ok()) return image.status();
  absl::StatusOr<IdentifyOptions> identify = IdentifyOptionsFromProto(request.options(), "options");
  if (!identify.ok()) return identify.status();
  v1::AnalyzeOptions limits;
  limits.set_min_detection_score(request.min_detection_score());
  limits.set_max_faces(request.max_faces());
  absl::StatusOr<AnalyzeOptions> options = AnalyzeOptionsFromProto(limits);
  if (!options.ok()) return options.status();
  call.image = *std::move(image);
  call.options = *std::move(options);
  call.identify = *std::move(identify);
  return call;
}

void IdentifiedAnalysisToProto(const IdentifiedAnalysis& result, const std::string& gallery,
                               v1::IdentifyResponse* out) {
  out->set_gallery(gallery);
  for (size_t i = 0; i < result.analysis.faces.size(); ++i) {
    const Face& face = result.analysis.faces[i];
    v1::IdentifiedFace* f = out->add_faces();
    BoxToProto(face.detection.box, f->mutable_box());
    f->set_detection_score(face.detection.score);
    f->set_truncated(face.detection.truncated);
    if (i < result.identities.size()) IdentityToProto(result.identities[i], f->mutable_identity());
  }
  TimingsToProto(result.analysis.timings, out->mutable_timings());
}

absl::StatusOr<SearchCall> SearchCallFromProto(const v1::SearchRequest& request) {
  SearchCall call;
  absl::StatusOr<IdentifyOptions> identify = IdentifyOptionsFromProto(request.options(), "options");
  if (!identify.ok()) return identify.status();
  call.identify = *std::move(identify);
  if (request.queries().empty() || request.queries_size() > kMaxSearchQueries) {
    return InvalidFieldError("queries", absl::StrCat("1 to ", kMaxSearchQueries, " embeddings"));
  }
  for (int i = 0; i < request.queries_size(); ++i) {
    absl::StatusOr<std::vector<float>> e =
        EmbeddingFromProto(request.queries(i), absl::StrCat("queries.", i));
    if (!e.ok()) return e.status();
    call.queries.push_back(*std::move(e));
  }
  return call;
}

}  // namespace faceserve
