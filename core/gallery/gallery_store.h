// GalleryStore: where enrolled people live (issue 27): galleries, their
// subjects (a person, by the client's id, with a metadata map) and the faces
// enrolled for each (an embedding of one descriptor model). The interface
// the server's gallery service and the in-memory index are written against;
// SqliteGalleryStore is the embedded default, PgGalleryStore the one several
// replicas share (issue 33).
//
// Every write is durable when it returns OK (the implementation commits it
// before returning). Errors carry ErrorReasons (core/error_reason.h):
// GALLERY_NOT_FOUND, GALLERY_EXISTS, SUBJECT_NOT_FOUND, FACE_NOT_FOUND,
// DESCRIPTOR_MISMATCH, INVALID_FIELD, STORAGE_ERROR.
//
// Thread-safety: every method may be called concurrently.
#ifndef FACESERVE_CORE_GALLERY_GALLERY_STORE_H_
#define FACESERVE_CORE_GALLERY_GALLERY_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace faceserve {

using Metadata = std::map<std::string, std::string>;

// What a gallery is searched with: the descriptor model's id (its card's
// name and version, e.g. "face_recognition@faceapi-1.7.15") and the length
// of its embeddings. A gallery refuses faces of any other.
struct DescriptorModel {
  std::string id;
  int dimension = 0;
};

// How a gallery is searched in memory (issue 28): exactly, by reading every
// face (GalleryIndex), or approximately, by walking a graph (HnswIndex).
// kAuto: exactly below the server's gallery.index.approximate_from_faces,
// approximately from there on.
enum class IndexKind { kAuto, kExact, kApproximate };

const char* IndexKindName(IndexKind kind);  // "auto", "exact", "approximate"

struct GalleryInfo {
  std::string name;
  DescriptorModel model;
  float threshold = 0;  // similarity at which a face is identified
  IndexKind index = IndexKind::kAuto;
  // Galleries::List only: searched through the graph now.
  bool approximate = false;
  int64_t subjects = 0, faces = 0;
  absl::Time created;
};

// One change to a gallery's faces, from the store's change log, numbered in
// commit order across the store. For an added face that still exists, its
// subject and embedding; an added face deleted since has neither (its
// deletion follows later in the log).
struct FaceChange {
  int64_t change = 0;
  int64_t face_id = 0;
  bool added = false;
  std::string subject;
  std::vector<float> embedding;
};

// One change of the whole store, for a replica that follows what other
// processes write to a shared store (issue 33): a face added or deleted
// (`face`), or a gallery created or deleted (look it up again by name).
struct StoreChange {
  enum class Kind { kFace, kGalleryCreated, kGalleryDeleted };
  int64_t change = 0;
  Kind kind = Kind::kFace;
  std::string gallery;
  FaceChange face;  // kFace
};

struct StoredFace {
  int64_t face_id = 0;
  std::string subject;
  std::vector<float> embedding;
  absl::Time created;
};

struct SubjectInfo {
  std::string subject;
  Metadata metadata;
  std::vector<int64_t> face_ids;  // ascending (enrollment order)
  absl::Time created;
  // GetSubject(with_embeddings = true): face_ids[i]'s embedding and time.
  std::vector<std::vector<float>> embeddings;
  std::vector<absl::Time> face_created;
};

// An Enroll's idempotency key (issue 27): stored with the request's
// fingerprint and its response in the transaction that enrolls, so a retry
// finds the first response, and a crash leaves both or neither.
struct EnrollReceipt {
  std::string key;
  std::string request_hash;
  // The response to store, made from the new faces' ids inside the
  // transaction.
  std::function<std::string(const std::vector<int64_t>& face_ids)> make_response;
};

// How long a receipt is kept at least.
inline constexpr absl::Duration kReceiptLifetime = absl::Hours(48);

// One page of subjects, by name; `next_page_token` empty on the last page.
struct SubjectPage {
  std::vector<SubjectInfo> subjects;
  std::string next_page_token;
};

class GalleryStore {
 public:
  virtual ~GalleryStore() = default;

  virtual absl::StatusOr<GalleryInfo> CreateGallery(const std::string& name,
                                                    const DescriptorModel& model,
                                                    float threshold, IndexKind index) = 0;
  // Removes the gallery with every subject and face of it.
  virtual absl::Status DeleteGallery(const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<GalleryInfo>> ListGalleries() = 0;
  virtual absl::StatusOr<GalleryInfo> GetGallery(const std::string& name) = 0;

  // Adds `embeddings` to `subject` (created when new; `metadata`, when not
  // empty, replaces its metadata) in one transaction: all or none. Returns
  // the new faces' ids in order. DESCRIPTOR_MISMATCH when `model` is not the
  // gallery's, INVALID_FIELD for an embedding of the wrong length. With a
  // `receipt` (may be null), stores it in the same transaction;
  // IDEMPOTENCY_KEY_REUSED when its key is already stored (a concurrent
  // retry won: look it up with FindReceipt).
  virtual absl::StatusOr<std::vector<int64_t>> AddFaces(
      const std::string& gallery, const std::string& subject, const Metadata& metadata,
      const DescriptorModel& model, const std::vector<std::vector<float>>& embeddings,
      const EnrollReceipt* receipt) = 0;
  // The response stored with `key` in `gallery`: nullopt when there is none
  // (or it is older than kReceiptLifetime); IDEMPOTENCY_KEY_REUSED when it
  // was stored for a request of another fingerprint.
  virtual absl::StatusOr<std::optional<std::string>> FindReceipt(
      const std::string& gallery, const std::string& key, const std::string& request_hash) = 0;

  virtual absl::StatusOr<SubjectInfo> GetSubject(const std::string& gallery,
                                                 const std::string& subject,
                                                 bool with_embeddings) = 0;
  // Subjects in name order after `page_token` ("" for the first page).
  virtual absl::StatusOr<SubjectPage> ListSubjects(const std::string& gallery,
                                                   const std::string& page_token,
                                                   int page_size) = 0;
  virtual absl::Status UpdateMetadata(const std::string& gallery, const std::string& subject,
                                      const Metadata& metadata) = 0;
  // Deletion erases: the embedding's bytes are overwritten, not only
  // unlinked (GDPR erasure).
  virtual absl::Status DeleteFace(const std::string& gallery, int64_t face_id) = 0;
  virtual absl::Status DeleteSubject(const std::string& gallery, const std::string& subject) = 0;

  // Every face of the gallery, for the in-memory index at start-up.
  virtual absl::StatusOr<std::vector<StoredFace>> LoadFaces(const std::string& gallery) = 0;

  // The change log (issue 28), so that an index snapshot covering change N
  // can be brought up to date by replaying the changes after N. Every add
  // and delete of a face is logged in the transaction that makes it.
  //
  // The number of the last change committed in the whole store (0 before
  // the first): an index built from LoadFaces() now covers it.
  virtual absl::StatusOr<int64_t> LastChange() = 0;
  // The gallery's changes after `after`, in order.
  virtual absl::StatusOr<std::vector<FaceChange>> ChangesSince(const std::string& gallery,
                                                               int64_t after) = 0;
  // Drops the gallery's changes up to `up_to` (a snapshot covers them).
  virtual absl::Status ForgetChanges(const std::string& gallery, int64_t up_to) = 0;
  // Every face's subject, without embeddings (what a loaded snapshot lacks).
  virtual absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> FaceSubjects(
      const std::string& gallery) = 0;

  // Following a shared store (issue 33). Whether other processes write
  // this store too: then Galleries follows its log, and leaves compacting
  // the log to CompactChanges (another replica may still need a change).
  virtual bool Shared() const { return false; }
  // The whole store's changes after `after`, in order, at most `limit`.
  // OUT_OF_RANGE when some of them were compacted away: reload in full.
  virtual absl::StatusOr<std::vector<StoreChange>> StoreChangesSince(int64_t /*after*/,
                                                                     int /*limit*/) {
    return absl::UnimplementedError("this gallery store is not shared");
  }
  // Returns true when a change may have been committed (PostgreSQL's
  // NOTIFY, or a lost connection: read the log to find out), false after
  // `timeout` without one.
  virtual bool AwaitChanges(absl::Duration /*timeout*/) { return false; }
  // Drops changes logged more than `retention` ago; how many.
  virtual absl::StatusOr<int64_t> CompactChanges(absl::Duration /*retention*/) { return 0; }
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_GALLERY_STORE_H_
