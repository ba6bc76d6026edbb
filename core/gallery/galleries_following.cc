// Galleries: following a shared store's log (issue 33), so that what other
// replicas enroll, delete, create and drop is searched here too, within a
// second of its commit.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/gallery/galleries.h"

namespace faceserve {
namespace {

// Changes read per query: a replica far behind catches up in steps, each
// holding the writer lock briefly.
constexpr int kFollowBatch = 4096;

// How often the follower looks whether Galleries is being destroyed.
constexpr absl::Duration kStopCheck = absl::Milliseconds(200);

}  // namespace

absl::Status Galleries::FollowStore() {
  absl::MutexLock write(&write_mu_);
  for (;;) {
    absl::StatusOr<std::vector<StoreChange>> changes =
        store_->StoreChangesSince(followed_, kFollowBatch);
    if (absl::IsOutOfRange(changes.status())) {
      Log(absl::StrCat("the gallery change log no longer holds what followed change ", followed_,
                       ": reloading every gallery"));
      return ReloadAll();
    }
    if (!changes.ok()) return changes.status();
    for (StoreChange& change : *changes) {
      // Not past a change that could not be applied: the next pass retries.
      if (absl::Status s = ApplyStoreChange(change); !s.ok()) return s;
      followed_ = change.change;
    }
    if (changes->size() < static_cast<size_t>(kFollowBatch)) return absl::OkStatus();
  }
}

absl::Status Galleries::ApplyStoreChange(StoreChange& change) {
  if (change.kind != StoreChange::Kind::kFace) return SyncGallery(change.gallery);
  std::shared_ptr<GalleryIndex> exact;
  std::shared_ptr<HnswIndex> approximate;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Loaded*> loaded = Find(change.gallery);
    if (!loaded.ok()) return absl::OkStatus();  // deleted since: its deletion is in the log
    exact = (*loaded)->exact;
    approximate = (*loaded)->approximate;
  }
  FaceChange& face = change.face;
  if (approximate) return ReplayOnGraph(*approximate, face);
  // As on a graph: an added face deleted since has no embedding (its
  // deletion follows); one indexed already (this replica's own write) stays.
  if (!face.added) {
    exact->RemoveFace(face.face_id);
  } else if (!face.embedding.empty()) {
    if (absl::Status s = exact->Add(face.face_id, face.subject, std::move(face.embedding));
        !s.ok() && !absl::IsAlreadyExists(s)) {
      return s;
    }
    BuildGraphIfGrown(change.gallery, exact->size());
  }
  return absl::OkStatus();
}

absl::Status Galleries::SyncGallery(const std::string& gallery) {
  absl::StatusOr<GalleryInfo> info = store_->GetGallery(gallery);
  if (absl::IsNotFound(info.status())) {
    snapshots_.Remove(gallery);
    absl::MutexLock lock(&mu_);
    loaded_.erase(gallery);  // searches in flight keep their index alive
    return absl::OkStatus();
  }
  if (!info.ok()) return info.status();
  {
    absl::MutexLock lock(&mu_);
    auto it = loaded_.find(gallery);
    // This replica's own, or loaded at start after the change was made.
    if (it != loaded_.end() && it->second.created_ms == absl::ToUnixMillis(info->created)) {
      return absl::OkStatus();
    }
  }
  absl::StatusOr<Loaded> loaded = LoadGallery(*info);
  if (!loaded.ok()) return loaded.status();
  Log(absl::StrCat("gallery '", gallery, "' (made on another replica) loaded with ",
                   loaded->size(), " faces"));
  absl::MutexLock lock(&mu_);
  loaded_[gallery] = std::move(*loaded);
  return absl::OkStatus();
}

absl::Status Galleries::ReloadAll() {
  absl::StatusOr<int64_t> last = store_->LastChange();
  if (!last.ok()) return last.status();
  absl::StatusOr<std::vector<GalleryInfo>> infos = store_->ListGalleries();
  if (!infos.ok()) return infos.status();
  std::map<std::string, Loaded> reloaded;
  for (const GalleryInfo& info : *infos) {
    absl::StatusOr<Loaded> loaded = LoadGallery(info);
    if (!loaded.ok()) return loaded.status();
    reloaded[info.name] = std::move(*loaded);
  }
  {
    absl::MutexLock lock(&mu_);
    loaded_ = std::move(reloaded);
  }
  followed_ = *last;  // what lands after `last` is applied by the next pass
  return absl::OkStatus();
}

FollowState Galleries::follow_state() const {
  absl::MutexLock lock(&follow_mu_);
  return follow_state_;
}

void Galleries::Follow() {
  const FollowOptions& options = indexing_.follow;
  absl::Time last_compaction = absl::InfinitePast();
  for (;;) {
    // Until a NOTIFY or `poll`, in slices: a stop is seen within one.
    const absl::Time read_by = absl::Now() + options.poll;
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
      }
      const absl::Duration left = read_by - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      if (store_->AwaitChanges(std::min(left, kStopCheck))) break;
    }
    const absl::Status status = FollowStore();
    int64_t followed = 0;
    {
      absl::MutexLock write(&write_mu_);
      followed = followed_;
    }
    FollowState state;
    {
      absl::MutexLock lock(&follow_mu_);
      const bool was_in_step = follow_state_.in_step;
      follow_state_.in_step = status.ok();
      follow_state_.error = status.ok() ? "" : std::string(status.message());
      if (status.ok()) follow_state_.last_in_step = absl::Now();
      follow_state_.change = followed;
      if (was_in_step != status.ok()) {
        Log(status.ok() ? absl::StrCat("following the gallery store again, at change ",
                                       follow_state_.change)
                        : absl::StrCat("cannot follow the gallery store (", status.message(),
                                       "): searching what is in memory, which may be stale"));
      }
      state = follow_state_;
    }
    if (options.on_pass) options.on_pass(state);
    if (status.ok() && absl::Now() - last_compaction >= options.compact_every) {
      last_compaction = absl::Now();
      absl::StatusOr<int64_t> gone = store_->CompactChanges(options.change_retention);
      if (gone.ok() && *gone > 0) {
        Log(absl::StrCat("compacted the gallery change log: ", *gone, " changes older than ",
                         absl::FormatDuration(options.change_retention)));
      }
    }
  }
}

}  // namespace faceserve
