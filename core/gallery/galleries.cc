#include "core/gallery/galleries.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"

namespace faceserve {
namespace {

absl::Status NotFound(const std::string& name) {
  return WithReason(absl::NotFoundError(absl::StrCat("no gallery '", name, "'")),
                    ErrorReason::kGalleryNotFound);
}

// A query the index can use: the gallery's length, finite, not all zero.
absl::Status CheckQuery(const std::vector<float>& q, size_t i, int dimension) {
  const std::string field = absl::StrCat("queries.", i);
  if (static_cast<int>(q.size()) != dimension) {
    return WithReason(absl::InvalidArgumentError(absl::StrCat(
                          field, " has ", q.size(), " values; the gallery's model makes ",
                          dimension)),
                      ErrorReason::kEmbeddingSizeMismatch, {{"field", field}});
  }
  double norm = 0;
  for (float v : q) {
    if (!std::isfinite(v)) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(field, " is not finite")),
                        ErrorReason::kInvalidField, {{"field", field}});
    }
    norm += static_cast<double>(v) * v;
  }
  if (norm == 0) {
    return WithReason(absl::InvalidArgumentError(absl::StrCat(field, " is all zero")),
                      ErrorReason::kInvalidField, {{"field", field}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Galleries>> Galleries::Open(std::unique_ptr<GalleryStore> store,
                                                           SearchBatchingOptions search,
                                                           SearchPassObserver observer) {
  absl::StatusOr<std::vector<GalleryInfo>> infos = store->ListGalleries();
  if (!infos.ok()) return infos.status();
  std::unique_ptr<Galleries> galleries(
      new Galleries(std::move(store), search, std::move(observer)));
  for (const GalleryInfo& info : *infos) {
    absl::StatusOr<std::vector<StoredFace>> faces = galleries->store_->LoadFaces(info.name);
    if (!faces.ok()) return faces.status();
    auto index = std::make_shared<GalleryIndex>(info.model.dimension);
    for (StoredFace& face : *faces) {
      if (absl::Status s = index->Add(face.face_id, face.subject, std::move(face.embedding));
          !s.ok()) {
        return WithReason(absl::DataLossError(absl::StrCat("gallery '", info.name, "', face ",
                                                           face.face_id, ": ", s.message())),
                          ErrorReason::kStorageError);
      }
    }
    absl::MutexLock lock(&galleries->mu_);
    galleries->loaded_[info.name] = Loaded{{info.model, info.threshold}, std::move(index)};
  }
  return galleries;
}

Galleries::Galleries(std::unique_ptr<GalleryStore> store, SearchBatchingOptions search,
                     SearchPassObserver observer)
    : store_(std::move(store)), batcher_(search, std::move(observer)) {}

absl::StatusOr<GalleryInfo> Galleries::Create(const std::string& name,
                                              const DescriptorModel& model, float threshold) {
  absl::MutexLock write(&write_mu_);
  absl::StatusOr<GalleryInfo> info = store_->CreateGallery(name, model, threshold);
  if (!info.ok()) return info;
  absl::MutexLock lock(&mu_);
  loaded_[name] = Loaded{{info->model, info->threshold},
                         std::make_shared<GalleryIndex>(info->model.dimension)};
  return info;
}

absl::Status Galleries::Delete(const std::string& name) {
  absl::MutexLock write(&write_mu_);
  if (absl::Status s = store_->DeleteGallery(name); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  loaded_.erase(name);  // searches in flight keep their index alive
  return absl::OkStatus();
}

absl::StatusOr<GalleryBinding> Galleries::Binding(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = loaded_.find(name);
  if (it == loaded_.end()) return NotFound(name);
  return it->second.binding;
}

absl::StatusOr<std::shared_ptr<GalleryIndex>> Galleries::IndexOf(
    const std::string& gallery) const {
  absl::MutexLock lock(&mu_);
  auto it = loaded_.find(gallery);
  if (it == loaded_.end()) return NotFound(gallery);
  return it->second.index;
}

absl::StatusOr<std::vector<int64_t>> Galleries::AddFaces(
    const std::string& gallery, const std::string& subject, const Metadata& metadata,
    const DescriptorModel& model, const std::vector<std::vector<float>>& embeddings,
    const EnrollReceipt* receipt) {
  for (size_t i = 0; i < embeddings.size(); ++i) {
    if (absl::Status s = CheckQuery(embeddings[i], i, model.dimension); !s.ok()) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat("embedding ", i, ": ", s.message())),
                        ReasonOf(s), {{"field", absl::StrCat("inputs.", i, ".embedding")}});
    }
  }
  absl::MutexLock write(&write_mu_);
  absl::StatusOr<std::shared_ptr<GalleryIndex>> index = IndexOf(gallery);
  if (!index.ok()) return index.status();
  absl::StatusOr<std::vector<int64_t>> ids =
      store_->AddFaces(gallery, subject, metadata, model, embeddings, receipt);
  if (!ids.ok()) return ids;
  for (size_t i = 0; i < ids->size(); ++i) {
    // Checked above and stored: the index cannot refuse it.
    (void)(*index)->Add((*ids)[i], subject, embeddings[i]);
  }
  return ids;
}

absl::Status Galleries::DeleteFace(const std::string& gallery, int64_t face_id) {
  absl::MutexLock write(&write_mu_);
  if (absl::Status s = store_->DeleteFace(gallery, face_id); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<GalleryIndex>> index = IndexOf(gallery);
  if (index.ok()) (*index)->RemoveFace(face_id);
  return absl::OkStatus();
}

absl::Status Galleries::DeleteSubject(const std::string& gallery, const std::string& subject) {
  absl::MutexLock write(&write_mu_);
  if (absl::Status s = store_->DeleteSubject(gallery, subject); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<GalleryIndex>> index = IndexOf(gallery);
  if (index.ok()) (*index)->RemoveSubject(subject);
  return absl::OkStatus();
}

void Galleries::Search(const std::string& gallery, const std::string& model_id,
                       std::vector<std::vector<float>> queries, int top_k,
                       SearchBatcher::Done done) {
  std::shared_ptr<GalleryIndex> index;
  GalleryBinding binding;
  {
    absl::MutexLock lock(&mu_);
    auto it = loaded_.find(gallery);
    if (it == loaded_.end()) return done(NotFound(gallery));
    index = it->second.index;
    binding = it->second.binding;
  }
  if (model_id != binding.model.id) {
    return done(WithReason(
        absl::FailedPreconditionError(absl::StrCat("gallery '", gallery, "' holds embeddings of ",
                                                   binding.model.id, ", not of ", model_id)),
        ErrorReason::kDescriptorMismatch));
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    if (absl::Status s = CheckQuery(queries[i], i, binding.model.dimension); !s.ok()) {
      return done(s);
    }
  }
  if (queries.empty()) return done(SearchBatcher::Matches{});
  batcher_.Submit(std::move(index), std::move(queries), top_k, std::move(done));
}

std::optional<int64_t> Galleries::FaceCount(const std::string& gallery) const {
  absl::MutexLock lock(&mu_);
  auto it = loaded_.find(gallery);
  if (it == loaded_.end()) return std::nullopt;
  return it->second.index->size();
}

std::map<std::string, int64_t> Galleries::FaceCounts() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int64_t> counts;
  for (const auto& [name, loaded] : loaded_) counts[name] = loaded.index->size();
  return counts;
}

}  // namespace faceserve
