// PgGalleryStore: GalleryStore in PostgreSQL (issue 33; gallery.backend:
// postgres, gallery.postgres.dsn), so that several replicas share one set of
// enrolled people. Each replica keeps its own in-memory index (Galleries) and
// follows the change log (pg_change_log.h); identification never waits on
// the database.
//
// Durability: each write is one transaction, committed (synchronous_commit)
// before the call returns. A server that cannot be reached is UNAVAILABLE
// (the connection is made again on the next call); an answer lost during
// COMMIT says that the outcome is unknown. Erasure: PostgreSQL keeps a
// deleted row's bytes until VACUUM reclaims its space (autovacuum does, in
// time; `VACUUM faces` for at once). The schema is versioned and migrated at
// open under an advisory lock (pg_schema.h).
//
// Thread-safety: one connection, used under a mutex; AwaitChanges LISTENs
// on a second one.
#ifndef FACESERVE_CORE_GALLERY_PG_GALLERY_STORE_H_
#define FACESERVE_CORE_GALLERY_PG_GALLERY_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/gallery/gallery_store.h"
#include "core/gallery/pg_connection.h"

namespace faceserve {

class PgGalleryStore final : public GalleryStore {
 public:
  // Connects with the libpq connection string `dsn` and migrates the
  // schema. UNAVAILABLE when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<PgGalleryStore>> Open(const std::string& dsn);

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
  bool Shared() const override { return true; }
  absl::StatusOr<std::vector<StoreChange>> StoreChangesSince(int64_t after, int limit) override;
  bool AwaitChanges(absl::Duration timeout) override;
  absl::StatusOr<int64_t> CompactChanges(absl::Duration retention) override;

  // The server process of the store's connection (tests end it to prove a
  // reconnect).
  int backend_pid();

 private:
  PgGalleryStore(std::string dsn, std::unique_ptr<PgConnection> db)
      : dsn_(std::move(dsn)), db_(std::move(db)) {}
  // Runs `body(db, gallery_row)` under the lock with the gallery found:
  // GALLERY_NOT_FOUND when it is missing. Every per-gallery method is one.
  template <typename Result, typename Body>
  Result InGallery(const std::string& gallery, Body body);

  const std::string dsn_;
  absl::Mutex mu_;
  std::unique_ptr<PgConnection> db_ ABSL_GUARDED_BY(mu_);
  // AwaitChanges' LISTEN connection, made on its first call.
  absl::Mutex listen_mu_;
  std::unique_ptr<PgConnection> listener_ ABSL_GUARDED_BY(listen_mu_);
  bool listening_ ABSL_GUARDED_BY(listen_mu_) = false;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_PG_GALLERY_STORE_H_
