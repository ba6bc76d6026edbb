// Galleries: loading, building, catching up and saving the indexes (issue
// 28); the calls the RPCs make are in galleries.cc.
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/error_reason.h"
#include "core/gallery/galleries.h"

namespace faceserve {
namespace {

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.2f s", absl::ToDoubleSeconds(d));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Galleries>> Galleries::Open(std::unique_ptr<GalleryStore> store,
                                                           SearchBatchingOptions search,
                                                           IndexingOptions indexing,
                                                           SearchPassObserver observer) {
  // A shared store's log is followed from before the load: what lands
  // meanwhile is applied again (idempotent).
  int64_t followed = 0;
  if (store->Shared()) {
    absl::StatusOr<int64_t> last = store->LastChange();
    if (!last.ok()) return last.status();
    followed = *last;
  }
  absl::StatusOr<std::vector<GalleryInfo>> infos = store->ListGalleries();
  if (!infos.ok()) return infos.status();
  std::unique_ptr<Galleries> galleries(
      new Galleries(std::move(store), search, std::move(indexing), std::move(observer)));
  {
    absl::MutexLock write(&galleries->write_mu_);
    galleries->followed_ = followed;
  }
  for (const GalleryInfo& info : *infos) {
    absl::StatusOr<Loaded> loaded = galleries->LoadGallery(info);
    if (!loaded.ok()) return loaded.status();
    absl::MutexLock lock(&galleries->mu_);
    galleries->loaded_[info.name] = std::move(*loaded);
  }
  // Graphs built or caught up at this start are saved now, so that the next
  // start loads them.
  if (absl::Status s = galleries->SaveSnapshots(); !s.ok()) {
    galleries->Log(absl::StrCat("saving index snapshots: ", s.message()));
  }
  galleries->maintenance_ = std::thread([g = galleries.get()] { g->Maintain(); });
  if (galleries->store_->Shared()) {
    {
      absl::MutexLock lock(&galleries->follow_mu_);
      galleries->follow_state_ = FollowState{true, true, absl::Now(), followed, ""};
    }
    galleries->follower_ = std::thread([g = galleries.get()] { g->Follow(); });
  }
  return galleries;
}

Galleries::~Galleries() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (maintenance_.joinable()) maintenance_.join();
  if (follower_.joinable()) follower_.join();
  if (absl::Status s = SaveSnapshots(); !s.ok()) {
    Log(absl::StrCat("saving index snapshots at shutdown: ", s.message()));
  }
}

absl::StatusOr<Galleries::Loaded> Galleries::LoadGallery(const GalleryInfo& info) {
  Loaded loaded;
  loaded.binding = {info.model, info.threshold};
  loaded.kind = info.index;
  loaded.created_ms = absl::ToUnixMillis(info.created);
  const bool approximate =
      info.index == IndexKind::kApproximate ||
      (info.index == IndexKind::kAuto && info.faces >= indexing_.approximate_from_faces);
  if (approximate) {
    absl::StatusOr<std::shared_ptr<HnswIndex>> index = LoadApproximate(info, &loaded.saved_change);
    if (!index.ok()) return index.status();
    loaded.approximate = std::move(*index);
    return loaded;
  }
  // Exact: nothing needs the change log.
  absl::StatusOr<int64_t> last = store_->LastChange();
  absl::StatusOr<std::vector<StoredFace>> faces = store_->LoadFaces(info.name);
  if (!faces.ok()) return faces.status();
  loaded.exact = std::make_shared<GalleryIndex>(info.model.dimension);
  for (StoredFace& face : *faces) {
    if (absl::Status s = loaded.exact->Add(face.face_id, face.subject, std::move(face.embedding));
        !s.ok()) {
      return WithReason(absl::DataLossError(absl::StrCat("gallery '", info.name, "', face ",
                                                         face.face_id, ": ", s.message())),
                        ErrorReason::kStorageError);
    }
  }
  // A shared store's log is compacted by age (other replicas read it).
  if (last.ok() && !store_->Shared()) (void)store_->ForgetChanges(info.name, *last);
  snapshots_.Remove(info.name);  // from when it was approximate
  return loaded;
}

absl::StatusOr<std::shared_ptr<HnswIndex>> Galleries::LoadApproximate(const GalleryInfo& info,
                                                                      int64_t* saved_change) {
  const absl::Time start = absl::Now();
  if (std::optional<IndexSnapshots::Found> found =
          snapshots_.Newest(info.name, absl::ToUnixMillis(info.created))) {
    absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> rows =
        store_->FaceSubjects(info.name);
    if (!rows.ok()) return rows.status();
    absl::flat_hash_map<int64_t, std::string> subject_of(rows->begin(), rows->end());
    absl::StatusOr<std::unique_ptr<HnswIndex>> index = HnswIndex::Load(
        found->path, info.model.dimension, indexing_.hnsw, subject_of, found->change);
    absl::Status status = index.status();
    if (status.ok()) status = CatchUp(info.name, **index);
    if (status.ok() && ((*index)->size() != static_cast<int64_t>(subject_of.size()) ||
                        (*index)->without_subject() != 0)) {
      status = absl::DataLossError(absl::StrCat(
          "after catching up it holds ", (*index)->size(), " faces (",
          (*index)->without_subject(), " unknown to the store), the store ", subject_of.size()));
    }
    if (status.ok()) {
      *saved_change = found->change;
      Log(absl::StrCat("gallery '", info.name, "': loaded its approximate index of ",
                       (*index)->size(), " faces from the snapshot at change ", found->change,
                       " and caught up to change ", (*index)->applied_change(), " in ",
                       Seconds(absl::Now() - start)));
      return std::shared_ptr<HnswIndex>(std::move(*index));
    }
    Log(absl::StrCat("gallery '", info.name, "': not using snapshot ", found->path, " (",
                     status.message(), "); rebuilding from the store"));
  }
  absl::StatusOr<std::shared_ptr<HnswIndex>> built =
      BuildApproximate(info.name, info.model.dimension);
  if (built.ok()) {
    Log(absl::StrCat("gallery '", info.name, "': built its approximate index of ",
                     (*built)->size(), " faces in ", Seconds(absl::Now() - start)));
  }
  return built;
}

absl::StatusOr<std::shared_ptr<HnswIndex>> Galleries::BuildApproximate(const std::string& gallery,
                                                                       int dimension) {
  // The last change before the faces are read: changes that land while they
  // are read are replayed by CatchUp, in order, whether or not they were
  // seen (replaying is idempotent).
  absl::StatusOr<int64_t> before = store_->LastChange();
  if (!before.ok()) return before.status();
  absl::StatusOr<std::vector<StoredFace>> stored = store_->LoadFaces(gallery);
  if (!stored.ok()) return stored.status();
  std::vector<IndexedFace> faces;
  faces.reserve(stored->size());
  for (StoredFace& face : *stored) {
    faces.push_back(IndexedFace{face.face_id, std::move(face.subject), std::move(face.embedding)});
  }
  stored->clear();
  absl::StatusOr<std::unique_ptr<HnswIndex>> index = HnswIndex::Build(
      dimension, indexing_.hnsw, std::move(faces), *before, indexing_.build_threads);
  if (!index.ok()) {
    return WithReason(
        absl::DataLossError(absl::StrCat("gallery '", gallery, "': ", index.status().message())),
        ErrorReason::kStorageError);
  }
  if (absl::Status s = CatchUp(gallery, **index); !s.ok()) return s;
  return std::shared_ptr<HnswIndex>(std::move(*index));
}

absl::Status Galleries::CatchUp(const std::string& gallery, HnswIndex& index) {
  absl::StatusOr<std::vector<FaceChange>> changes =
      store_->ChangesSince(gallery, index.applied_change());
  if (!changes.ok()) return changes.status();
  for (FaceChange& change : *changes) {
    if (absl::Status s = ReplayOnGraph(index, change); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Galleries::ReplayOnGraph(HnswIndex& index, FaceChange& change) {
  if (!change.added) {
    index.RemoveFace(change.face_id, change.change);
  } else if (change.embedding.empty()) {
    index.NoteChange(change.change);  // deleted since: its deletion follows
  } else if (absl::Status s = index.Add(change.face_id, change.subject,
                                        std::move(change.embedding), change.change);
             !s.ok() && !absl::IsAlreadyExists(s)) {
    return s;  // ALREADY_EXISTS: indexed already (replayed, or this replica's own write)
  }
  return absl::OkStatus();
}

absl::Status Galleries::SaveSnapshot(const std::string& gallery) {
  std::shared_ptr<HnswIndex> index;
  int64_t created_ms = 0, saved = 0;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Loaded*> loaded = Find(gallery);
    // A gallery being rebuilt keeps its log: the new graph catches up from it.
    if (!loaded.ok() || !(*loaded)->approximate || (*loaded)->building) return absl::OkStatus();
    index = (*loaded)->approximate;
    created_ms = (*loaded)->created_ms;
    saved = (*loaded)->saved_change;
  }
  // Without snapshots nothing replays the log: a restart rebuilds.
  if (!snapshots_.enabled()) {
    return store_->Shared() ? absl::OkStatus()
                            : store_->ForgetChanges(gallery, index->applied_change());
  }
  if (index->applied_change() == saved) return absl::OkStatus();
  const absl::Time start = absl::Now();
  absl::StatusOr<IndexSnapshots::Found> found = snapshots_.Write(gallery, created_ms, *index);
  if (!found.ok()) return found.status();
  {
    absl::MutexLock lock(&mu_);
    if (absl::StatusOr<Loaded*> loaded = Find(gallery); loaded.ok()) {
      (*loaded)->saved_change = found->change;
    }
  }
  Log(absl::StrCat("gallery '", gallery, "': saved its approximate index (", index->size(),
                   " faces, change ", found->change, ") in ", Seconds(absl::Now() - start)));
  return store_->Shared() ? absl::OkStatus() : store_->ForgetChanges(gallery, found->change);
}

absl::Status Galleries::SaveSnapshots() {
  absl::MutexLock write(&write_mu_);
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, loaded] : loaded_) names.push_back(name);
  }
  absl::Status first;
  for (const std::string& name : names) first.Update(SaveSnapshot(name));
  return first;
}

void Galleries::Maintain() {
  absl::Time last_pass = absl::Now();
  for (;;) {
    std::vector<std::string> to_build;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &Galleries::MaintenanceDue),
                           indexing_.snapshot_interval);
      if (stopping_) return;
      for (const auto& [name, loaded] : loaded_) {
        if (loaded.building) to_build.push_back(name);
      }
    }
    for (const std::string& name : to_build) BuildAndSwap(name);
    if (absl::Now() - last_pass < indexing_.snapshot_interval) continue;
    last_pass = absl::Now();
    if (absl::Status s = SaveSnapshots(); !s.ok()) {
      Log(absl::StrCat("saving index snapshots: ", s.message()));
    }
    // Exact galleries' logs (nothing replays them), and graphs in which
    // erased faces hold over a fifth of the slots (rebuilt without them).
    absl::StatusOr<int64_t> last = store_->LastChange();
    std::vector<std::string> exact;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [name, loaded] : loaded_) {
        if (loaded.exact && !loaded.building) {
          exact.push_back(name);
        } else if (loaded.approximate && loaded.approximate->deleted() > 1000 &&
                   loaded.approximate->deleted() > loaded.approximate->size() / 4) {
          Log(absl::StrCat("gallery '", name, "': ", loaded.approximate->deleted(),
                           " erased faces hold slots in its graph; rebuilding it"));
          loaded.building = true;
        }
      }
    }
    // A gallery that starts building after `last` was read keeps what it
    // needs: its build reads the store's last change itself, later.
    for (const std::string& name : exact) {
      if (last.ok() && !store_->Shared()) (void)store_->ForgetChanges(name, *last);
    }
  }
}

bool Galleries::MaintenanceDue() const {
  if (stopping_) return true;
  for (const auto& [name, loaded] : loaded_) {
    if (loaded.building) return true;
  }
  return false;
}

void Galleries::BuildAndSwap(const std::string& gallery) {
  int dimension = 0;
  int64_t created_ms = 0;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Loaded*> loaded = Find(gallery);
    if (!loaded.ok()) return;
    dimension = (*loaded)->binding.model.dimension;
    created_ms = (*loaded)->created_ms;
  }
  const absl::Time start = absl::Now();
  // Built without the writer lock: enrollments go on into the old index and
  // the log, and are caught up under the lock below.
  absl::StatusOr<std::shared_ptr<HnswIndex>> index = BuildApproximate(gallery, dimension);
  absl::MutexLock write(&write_mu_);
  absl::Status status = index.status();
  if (status.ok()) status = CatchUp(gallery, **index);
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Loaded*> loaded = Find(gallery);
    if (!loaded.ok() || (*loaded)->created_ms != created_ms) return;  // deleted meanwhile
    (*loaded)->building = false;
    if (!status.ok()) {
      Log(absl::StrCat("gallery '", gallery, "': building its approximate index failed (",
                       status.message(), "); it stays as it was"));
      return;
    }
    (*loaded)->approximate = *index;
    (*loaded)->exact = nullptr;
    (*loaded)->saved_change = -1;
  }
  Log(absl::StrCat("gallery '", gallery, "': its approximate index of ", (*index)->size(),
                   " faces is in use, built in ", Seconds(absl::Now() - start)));
  if (absl::Status s = SaveSnapshot(gallery); !s.ok()) {
    Log(absl::StrCat("gallery '", gallery, "': saving its index snapshot: ", s.message()));
  }
}

}  // namespace faceserve
