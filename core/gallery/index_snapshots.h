// IndexSnapshots: a gallery's approximate index on disk (issue 28), so that
// a restart loads the graph instead of rebuilding it (minutes at a million
// faces) and replays only the changes that came after it.
//
// Layout, beside the gallery database (gallery.index.snapshot_dir):
//   <root>/<gallery name, hex>/snapshot-<change>-<created ms>/index.hnsw
// <change> is the last change of the store's log the snapshot covers;
// <created ms> the gallery's creation time, so that a gallery deleted and
// created again under the same name never loads the old one's graph.
//
// Crash safety: a snapshot is written into a temporary directory, fsynced,
// and renamed into place (then the parent directory is fsynced); only then
// are older snapshots removed. A kill -9 while writing leaves the temporary
// directory (removed at the next look) and the previous snapshot intact.
//
// Thread-safety: not thread-safe; Galleries calls it under its writer lock.
#ifndef FACESERVE_CORE_GALLERY_INDEX_SNAPSHOTS_H_
#define FACESERVE_CORE_GALLERY_INDEX_SNAPSHOTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/gallery/hnsw_index.h"

namespace faceserve {

class IndexSnapshots {
 public:
  // No snapshots at all when `root` is empty.
  explicit IndexSnapshots(std::string root) : root_(std::move(root)) {}

  bool enabled() const { return !root_.empty(); }

  struct Found {
    std::string path;  // the index.hnsw file
    int64_t change = 0;
  };
  // The newest snapshot of `gallery` as created at `created_ms`; nullopt when
  // none. Removes what a crash or an older gallery of that name left there.
  std::optional<Found> Newest(const std::string& gallery, int64_t created_ms) const;

  // Saves `index` as the newest snapshot and removes the older ones. The
  // caller keeps the index from changing meanwhile. Returns what it covers.
  absl::StatusOr<Found> Write(const std::string& gallery, int64_t created_ms,
                              HnswIndex& index) const;

  // Removes every snapshot of `gallery` (it was deleted).
  void Remove(const std::string& gallery) const;

 private:
  std::string GalleryDir(const std::string& gallery) const;
  const std::string root_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_INDEX_SNAPSHOTS_H_
