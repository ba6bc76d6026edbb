// SqliteGalleryStore: GalleryStore in one SQLite file, the embedded default
// (gallery.backend: sqlite, gallery.sqlite.path).
//
// Durability: WAL journal with synchronous=FULL, so a write that returned OK
// is on disk (fsync) before the call returns and survives kill -9 and power
// loss; each write is one transaction. Erasure: secure_delete=ON overwrites
// deleted rows, and every delete ends with a TRUNCATE checkpoint, so no copy
// of a deleted embedding stays in the file or its WAL. The schema is
// versioned (sqlite_schema.h) and migrated at open.
//
// Thread-safety: one connection, used under a mutex (SQLite writes one
// transaction at a time anyway).
#ifndef FACESERVE_CORE_GALLERY_SQLITE_GALLERY_STORE_H_
#define FACESERVE_CORE_GALLERY_SQLITE_GALLERY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/gallery/gallery_store.h"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace faceserve {

class SqliteGalleryStore final : public GalleryStore {
 public:
  // Opens (creating when missing) the database at `path` and migrates it.
  // STORAGE_ERROR naming the path when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteGalleryStore>> Open(const std::string& path);
  ~SqliteGalleryStore() override;

  absl::StatusOr<GalleryInfo> CreateGallery(const std::string& name, const DescriptorModel& model,
                                            float threshold, IndexKind index) override;
  absl::Status DeleteGallery(const std::string& name) override;
  absl::StatusOr<std::vector<GalleryInfo>> ListGalleries() override;
  absl::StatusOr<GalleryInfo> GetGallery(const std::string& name) override;
  absl::StatusOr<std::vector<int64_t>> AddFaces(
      const std::string& gallery, const std::string& subject, const Metadata& metadata,
      const DescriptorModel& model, const std::vector<std::vector<float>>& embeddings,
      const EnrollReceipt* receipt) override;
  absl::StatusOr<std::optional<std::string>> FindReceipt(const std::string& gallery,
                                                         const std::string& key,
                                                         const std::string& request_hash) override;
  absl::StatusOr<SubjectInfo> GetSubject(const std::string& gallery, const std::string& subject,
                                         bool with_embeddings) override;
  absl::StatusOr<SubjectPage> ListSubjects(const std::string& gallery,
                                           const std::string& page_token, int page_size) override;
  absl::Status UpdateMetadata(const std::string& gallery, const std::string& subject,
                              const Metadata& metadata) override;
  absl::Status DeleteFace(const std::string& gallery, int64_t face_id) override;
  absl::Status DeleteSubject(const std::string& gallery, const std::string& subject) override;
  absl::StatusOr<std::vector<StoredFace>> LoadFaces(const std::string& gallery) override;
  absl::StatusOr<int64_t> LastChange() override;
  absl::StatusOr<std::vector<FaceChange>> ChangesSince(const std::string& gallery,
                                                       int64_t after) override;
  absl::Status ForgetChanges(const std::string& gallery, int64_t up_to) override;
  absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> FaceSubjects(
      const std::string& gallery) override;

  // A PRAGMA's value on the store's own connection, e.g. "journal_mode" ->
  // "wal", "synchronous" -> "2" (FULL), "integrity_check" -> "ok".
  absl::StatusOr<std::string> ReadPragma(const std::string& name);

 private:
  explicit SqliteGalleryStore(std::unique_ptr<SQLite::Database> db);
  // Runs `body(db, gallery_row)` under the lock with the gallery found: a
  // missing gallery is GALLERY_NOT_FOUND, an SQLite failure STORAGE_ERROR
  // naming `what`. Every per-gallery method is one.
  template <typename Result, typename Body>
  Result InGallery(const std::string& gallery, const std::string& what, Body body);

  absl::Mutex mu_;
  std::unique_ptr<SQLite::Database> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_GALLERY_STORE_H_
