#include "core/gallery/index_snapshots.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

constexpr char kIndexFile[] = "index.hnsw";
constexpr char kPrefix[] = "snapshot-";

// "snapshot-<change>-<created ms>" -> (change, created ms).
std::optional<std::pair<int64_t, int64_t>> ParseName(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(name.substr(sizeof(kPrefix) - 1), '-');
  int64_t change = 0, created = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &change) ||
      !absl::SimpleAtoi(parts[1], &created)) {
    return std::nullopt;
  }
  return std::make_pair(change, created);
}

// fsync of a directory: makes a rename or creation in it durable.
bool SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string IndexSnapshots::GalleryDir(const std::string& gallery) const {
  // Hex: any gallery name is a safe directory name.
  return (fs::path(root_) / absl::BytesToHexString(gallery)).string();
}

std::optional<IndexSnapshots::Found> IndexSnapshots::Newest(const std::string& gallery,
                                                            int64_t created_ms) const {
  if (!enabled()) return std::nullopt;
  std::error_code ec;
  std::optional<Found> newest;
  std::vector<fs::path> stale;
  for (const fs::directory_entry& entry : fs::directory_iterator(GalleryDir(gallery), ec)) {
    const std::string name = entry.path().filename().string();
    const auto parsed = ParseName(name);
    if (!parsed || parsed->second != created_ms) {  // a crash's leftover, an old gallery's
      stale.push_back(entry.path());
      continue;
    }
    if (!newest || parsed->first > newest->change) {
      if (newest) stale.push_back(fs::path(newest->path).parent_path());
      newest = Found{(entry.path() / kIndexFile).string(), parsed->first};
    } else {
      stale.push_back(entry.path());
    }
  }
  for (const fs::path& p : stale) fs::remove_all(p, ec);
  return newest;
}

absl::StatusOr<IndexSnapshots::Found> IndexSnapshots::Write(const std::string& gallery,
                                                            int64_t created_ms,
                                                            HnswIndex& index) const {
  if (!enabled()) return absl::FailedPreconditionError("index snapshots are off");
  const std::string dir = GalleryDir(gallery);
  const std::string tmp = (fs::path(dir) / absl::StrCat(".writing-", ::getpid())).string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) {
    return absl::InternalError(absl::StrCat("creating ", tmp, ": ", ec.message()));
  }
  const std::string tmp_file = (fs::path(tmp) / kIndexFile).string();
  absl::StatusOr<int64_t> change = index.Save(tmp_file);
  if (!change.ok() || !SyncDirectory(tmp)) {
    index.SnapshotMoved("");  // the file is going
    fs::remove_all(tmp, ec);
    return change.ok() ? absl::InternalError(absl::StrCat("syncing ", tmp)) : change.status();
  }
  const fs::path final_dir = fs::path(dir) / absl::StrCat(kPrefix, *change, "-", created_ms);
  fs::remove_all(final_dir, ec);  // the same change saved before: replaced whole
  fs::rename(tmp, final_dir, ec);
  if (ec || !SyncDirectory(dir) || !SyncDirectory(root_)) {
    index.SnapshotMoved("");
    fs::remove_all(tmp, ec);
    return absl::InternalError(absl::StrCat("renaming ", tmp, " to ", final_dir.string()));
  }
  Found found{(final_dir / kIndexFile).string(), *change};
  index.SnapshotMoved(found.path);
  Newest(gallery, created_ms);  // removes the older ones
  return found;
}

void IndexSnapshots::Remove(const std::string& gallery) const {
  if (!enabled()) return;
  std::error_code ec;
  fs::remove_all(GalleryDir(gallery), ec);
}

}  // namespace faceserve
