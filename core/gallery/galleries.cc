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

const char* IndexKindName(IndexKind kind) {
  switch (kind) {
    case IndexKind::kExact:
      return "exact";
    case IndexKind::kApproximate:
      return "approximate";
    case IndexKind::kAuto:
      break;
  }
  return "auto";
}

Galleries::Galleries(std::unique_ptr<GalleryStore> store, SearchBatchingOptions search,
                     IndexingOptions indexing, SearchPassObserver observer)
    : store_(std::move(store)),
      indexing_(std::move(indexing)),
      snapshots_(indexing_.snapshot_dir),
      search_(search),
      observer_(observer),
      batcher_(search, std::move(observer)),
      search_pool_(indexing_.search_threads, "gallery-search") {}

absl::StatusOr<Galleries::Loaded*> Galleries::Find(const std::string& gallery) {
  auto it = loaded_.find(gallery);
  if (it == loaded_.end()) return NotFound(gallery);
  return &it->second;
}

absl::StatusOr<GalleryInfo> Galleries::Create(const std::string& name,
                                              const DescriptorModel& model, float threshold,
                                              IndexKind index) {
  absl::MutexLock write(&write_mu_);
  absl::StatusOr<GalleryInfo> info = store_->CreateGallery(name, model, threshold, index);
  if (!info.ok()) return info;
  Loaded loaded;
  loaded.binding = {info->model, info->threshold};
  loaded.kind = index;
  loaded.created_ms = absl::ToUnixMillis(info->created);
  info->approximate = index == IndexKind::kApproximate;
  if (index == IndexKind::kApproximate) {
    absl::StatusOr<std::unique_ptr<HnswIndex>> graph =
        HnswIndex::Build(info->model.dimension, indexing_.hnsw, {}, 0, 1);
    if (!graph.ok()) return graph.status();
    loaded.approximate = std::move(*graph);
  } else {
    loaded.exact = std::make_shared<GalleryIndex>(info->model.dimension);
  }
  snapshots_.Remove(name);  // an older gallery's of that name
  absl::MutexLock lock(&mu_);
  loaded_[name] = std::move(loaded);
  return info;
}

absl::Status Galleries::Delete(const std::string& name) {
  absl::MutexLock write(&write_mu_);
  if (absl::Status s = store_->DeleteGallery(name); !s.ok()) return s;
  snapshots_.Remove(name);
  absl::MutexLock lock(&mu_);
  loaded_.erase(name);  // searches in flight keep their index alive
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GalleryInfo>> Galleries::List() {
  absl::StatusOr<std::vector<GalleryInfo>> infos = store_->ListGalleries();
  if (!infos.ok()) return infos;
  absl::MutexLock lock(&mu_);
  for (GalleryInfo& info : *infos) {
    auto it = loaded_.find(info.name);
    info.approximate = it != loaded_.end() && it->second.approximate != nullptr;
  }
  return infos;
}

absl::StatusOr<GalleryBinding> Galleries::Binding(const std::string& name) {
  {
    absl::MutexLock lock(&mu_);
    auto it = loaded_.find(name);
    if (it != loaded_.end()) return it->second.binding;
  }
  // Made through another replica a moment ago: as in AddFaces.
  if (!store_->Shared()) return NotFound(name);
  {
    absl::MutexLock write(&write_mu_);
    (void)SyncGallery(name);
  }
  absl::MutexLock lock(&mu_);
  auto it = loaded_.find(name);
  if (it == loaded_.end()) return NotFound(name);
  return it->second.binding;
}

std::optional<Galleries::Indexes> Galleries::IndexesAfterWrite(const std::string& gallery) {
  Indexes indexes;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Loaded*> loaded = Find(gallery);
    if (!loaded.ok()) return std::nullopt;
    indexes.exact = (*loaded)->exact;
    indexes.approximate = (*loaded)->approximate;
  }
  // Only a graph records change numbers (exact galleries skip the query).
  // One the store cannot read back is only a snapshot's label: the next
  // snapshot then claims less than it holds, and replays more. A shared
  // store's later numbers may be other replicas' changes not applied yet:
  // the write is labelled with what the follower covers.
  if (indexes.approximate && store_->Shared()) {
    indexes.change = followed_;
  } else if (indexes.approximate) {
    absl::StatusOr<int64_t> change = store_->LastChange();
    indexes.change = change.ok() ? *change : 0;
  }
  return indexes;
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
  bool in_memory = false;
  {
    absl::MutexLock lock(&mu_);
    in_memory = Find(gallery).ok();
  }
  // Made through another replica a moment ago: load it now (the follower
  // would, milliseconds later), so that enrolling right after creating
  // works behind a load balancer.
  if (!in_memory && store_->Shared()) (void)SyncGallery(gallery);
  {
    absl::MutexLock lock(&mu_);
    if (absl::StatusOr<Loaded*> loaded = Find(gallery); !loaded.ok()) return loaded.status();
  }
  absl::StatusOr<std::vector<int64_t>> ids =
      store_->AddFaces(gallery, subject, metadata, model, embeddings, receipt);
  if (!ids.ok()) return ids;
  std::optional<Indexes> indexes = IndexesAfterWrite(gallery);
  if (!indexes) return ids;
  for (size_t i = 0; i < ids->size(); ++i) {
    // Checked above and stored: the index cannot refuse it (a graph that
    // cannot grow is caught up from the log when rebuilt).
    if (indexes->approximate) {
      (void)indexes->approximate->Add((*ids)[i], subject, embeddings[i], indexes->change);
    } else {
      (void)indexes->exact->Add((*ids)[i], subject, embeddings[i]);
    }
  }
  if (indexes->exact) BuildGraphIfGrown(gallery, indexes->exact->size());
  return ids;
}

void Galleries::BuildGraphIfGrown(const std::string& gallery, int64_t size) {
  if (size < indexing_.approximate_from_faces) return;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Loaded*> loaded = Find(gallery);
  if (loaded.ok() && (*loaded)->kind == IndexKind::kAuto && (*loaded)->exact &&
      !(*loaded)->building) {
    (*loaded)->building = true;  // the maintenance thread builds its graph
    Log(absl::StrCat("gallery '", gallery, "' reached ", indexing_.approximate_from_faces,
                     " faces: building its approximate index in the background"));
  }
}

absl::Status Galleries::DeleteFace(const std::string& gallery, int64_t face_id) {
  absl::MutexLock write(&write_mu_);
  if (absl::Status s = store_->DeleteFace(gallery, face_id); !s.ok()) return s;
  if (std::optional<Indexes> indexes = IndexesAfterWrite(gallery)) {
    if (indexes->approximate) indexes->approximate->RemoveFace(face_id, indexes->change);
    if (indexes->exact) indexes->exact->RemoveFace(face_id);
  }
  return absl::OkStatus();
}

absl::Status Galleries::DeleteSubject(const std::string& gallery, const std::string& subject) {
  absl::MutexLock write(&write_mu_);
  // A graph indexes faces, not subjects: it needs the subject's face ids,
  // read before they are deleted (exact galleries skip the read).
  absl::StatusOr<SubjectInfo> info = absl::NotFoundError("not needed");
  if (Approximate(gallery) == true) info = store_->GetSubject(gallery, subject, false);
  if (absl::Status s = store_->DeleteSubject(gallery, subject); !s.ok()) return s;
  if (std::optional<Indexes> indexes = IndexesAfterWrite(gallery)) {
    if (indexes->approximate && info.ok()) {
      for (int64_t face_id : info->face_ids) {
        indexes->approximate->RemoveFace(face_id, indexes->change);
      }
    }
    if (indexes->exact) indexes->exact->RemoveSubject(subject);
  }
  return absl::OkStatus();
}

void Galleries::Search(const std::string& gallery, const std::string& model_id,
                       std::vector<std::vector<float>> queries, int top_k,
                       SearchBatcher::Done done) {
  std::shared_ptr<GalleryIndex> exact;
  std::shared_ptr<HnswIndex> approximate;
  GalleryBinding binding;
  {
    absl::MutexLock lock(&mu_);
    auto it = loaded_.find(gallery);
    if (it == loaded_.end()) return done(NotFound(gallery));
    exact = it->second.exact;
    approximate = it->second.approximate;
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
  if (exact) return batcher_.Submit(std::move(exact), std::move(queries), top_k, std::move(done));
  // A graph walk gains nothing from company: it runs at once, on the pool.
  const int n = static_cast<int>(queries.size());
  if (approximate_pending_.fetch_add(n) + n > search_.max_pending) {
    approximate_pending_ -= n;
    return done(WithReason(absl::ResourceExhaustedError(absl::StrCat(
                               "gallery search queue is full (", search_.max_pending,
                               " queries waiting); retry with backoff")),
                           ErrorReason::kQueueFull));
  }
  search_pool_.Post([this, approximate = std::move(approximate), queries = std::move(queries),
                     top_k, n, done = std::move(done)] {
    const absl::Time start = absl::Now();
    absl::StatusOr<SearchBatcher::Matches> matches = approximate->Search(queries, top_k);
    approximate_pending_ -= n;
    if (observer_) observer_(n, absl::Now() - start);
    done(std::move(matches));
  });
}

std::optional<int64_t> Galleries::FaceCount(const std::string& gallery) const {
  absl::MutexLock lock(&mu_);
  auto it = loaded_.find(gallery);
  if (it == loaded_.end()) return std::nullopt;
  return it->second.size();
}

std::optional<bool> Galleries::Approximate(const std::string& gallery) const {
  absl::MutexLock lock(&mu_);
  auto it = loaded_.find(gallery);
  if (it == loaded_.end()) return std::nullopt;
  return it->second.approximate != nullptr;
}

std::map<std::string, int64_t> Galleries::FaceCounts() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int64_t> counts;
  for (const auto& [name, loaded] : loaded_) counts[name] = loaded.size();
  return counts;
}

}  // namespace faceserve
