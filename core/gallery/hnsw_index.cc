#include "core/gallery/hnsw_index.h"

#include <fcntl.h>
#include <hnswlib/hnswlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "core/gallery/dot_distance.h"
#include "core/gallery/half_float.h"

namespace faceserve {
namespace {

using Hnsw = hnswlib::HierarchicalNSW<float>;

// The bytes saveIndex() writes before the first face (hnswlib 0.6's format:
// these members, in this order, then every slot of the bottom layer), so
// that a slot's vector can be found in a saved file.
constexpr size_t kSavedHeaderBytes =
    6 * sizeof(size_t)          // offsetLevel0_ .. offsetData_
    + sizeof(int)               // maxlevel_
    + sizeof(hnswlib::tableint) // enterpoint_node_
    + 3 * sizeof(size_t)        // maxM_, maxM0_, M_
    + sizeof(double)            // mult_
    + sizeof(size_t);           // ef_construction_

absl::Status BadVector(const std::string& what, size_t index, const std::string& why) {
  return WithReason(absl::InvalidArgumentError(absl::StrCat(what, " ", index, ": ", why)),
                    ErrorReason::kInvalidField, {{"field", absl::StrCat(what, "s.", index)}});
}

absl::Status CheckAndNormalize(std::vector<float>* v, int dimension, const std::string& what,
                               size_t index) {
  if (static_cast<int>(v->size()) != dimension) {
    return BadVector(what, index,
                     absl::StrCat(v->size(), " values, the gallery holds ", dimension));
  }
  if (!NormalizeEmbedding(v)) return BadVector(what, index, "zero or not finite");
  return absl::OkStatus();
}

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// hnswlib's space for unit vectors compared by dot product, stored as
// halves (the default) or floats.
class UnitDotSpace final : public hnswlib::SpaceInterface<float> {
 public:
  UnitDotSpace(size_t dim, bool half)
      : dim_(dim), half_(half), distance_(BestDotDistance(dim, half)) {}
  size_t get_data_size() override { return dim_ * (half_ ? sizeof(uint16_t) : sizeof(float)); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &dim_; }

  // The stored form of a unit vector: its halves in `*halves`, or the
  // floats themselves.
  const void* Encode(const std::vector<float>& unit, std::vector<uint16_t>* halves) const {
    if (!half_) return unit.data();
    halves->resize(unit.size());
    FloatsToHalves(unit.data(), unit.size(), halves->data());
    return halves->data();
  }

 private:
  size_t dim_;
  bool half_;
  hnswlib::DISTFUNC<float> distance_;
};

}  // namespace

class HnswIndex::Graph {
 public:
  Graph(int dimension, const HnswOptions& options, size_t capacity)
      : space(static_cast<size_t>(dimension), options.half_precision),
        hnsw(std::make_unique<Hnsw>(&space, std::max<size_t>(capacity, 16),
                                    static_cast<size_t>(options.m),
                                    static_cast<size_t>(options.ef_construction))) {}
  Graph(int dimension, const HnswOptions& options, const std::string& path)
      : space(static_cast<size_t>(dimension), options.half_precision) {
    hnsw = std::make_unique<Hnsw>(&space, path);
  }

  UnitDotSpace space;  // 1 - dot product, of halves or floats
  std::unique_ptr<Hnsw> hnsw;
  // Each live face's subject, as an index into `subjects`.
  absl::flat_hash_map<int64_t, int32_t> subject_of;
  std::vector<std::string> subjects;
  absl::flat_hash_map<std::string, int32_t> subject_index;

  int32_t Intern(const std::string& subject) {
    auto [it, inserted] = subject_index.emplace(subject, static_cast<int32_t>(subjects.size()));
    if (inserted) subjects.push_back(subject);
    return it->second;
  }

  // Adds a normalised vector, growing the graph when full. hnswlib throws
  // on allocation failure.
  absl::Status Insert(int64_t face_id, int32_t subject, const std::vector<float>& unit) {
    try {
      if (hnsw->cur_element_count >= hnsw->max_elements_) {
        hnsw->resizeIndex(hnsw->max_elements_ * 2);
      }
      std::vector<uint16_t> halves;
      hnsw->addPoint(space.Encode(unit, &halves), static_cast<hnswlib::labeltype>(face_id));
    } catch (const std::exception& e) {
      return absl::ResourceExhaustedError(absl::StrCat("indexing face ", face_id, ": ", e.what()));
    }
    subject_of[face_id] = subject;
    return absl::OkStatus();
  }
};

HnswIndex::HnswIndex(int dimension, HnswOptions options, std::unique_ptr<Graph> graph,
                     int64_t applied_change)
    : dimension_(dimension),
      options_(options),
      graph_(std::move(graph)),
      applied_change_(applied_change) {}

HnswIndex::~HnswIndex() = default;

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::Build(int dimension, HnswOptions options,
                                                            std::vector<IndexedFace> faces,
                                                            int64_t applied_change,
                                                            int threads) {
  for (size_t i = 0; i < faces.size(); ++i) {
    if (absl::Status s = CheckAndNormalize(&faces[i].embedding, dimension, "face", i); !s.ok()) {
      return s;
    }
  }
  // Headroom for the enrollments that follow before the next resize.
  auto graph = std::make_unique<Graph>(dimension, options, faces.size() + faces.size() / 8 + 1024);
  std::vector<int32_t> subject(faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    subject[i] = graph->Intern(faces[i].subject);
    graph->subject_of[faces[i].face_id] = subject[i];
  }
  // hnswlib links faces concurrently (per-node locks); the graph is private
  // until returned, so nothing else reads it meanwhile.
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  auto work = [&] {
    std::vector<uint16_t> halves;
    for (size_t i = next++; i < faces.size() && !failed; i = next++) {
      try {
        graph->hnsw->addPoint(graph->space.Encode(faces[i].embedding, &halves),
                              static_cast<hnswlib::labeltype>(faces[i].face_id));
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mu);
        failure = e.what();
        failed = true;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < std::max(1, threads); ++t) workers.emplace_back(work);
  work();
  for (std::thread& w : workers) w.join();
  if (failed) return absl::ResourceExhaustedError(absl::StrCat("building the index: ", failure));
  // hnswlib walks with max(ef, k) candidates; k is what Search asks for.
  graph->hnsw->setEf(1);
  return std::unique_ptr<HnswIndex>(
      new HnswIndex(dimension, options, std::move(graph), applied_change));
}

absl::StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::Load(
    const std::string& path, int dimension, HnswOptions options,
    const absl::flat_hash_map<int64_t, std::string>& subject_of, int64_t applied_change) {
  std::unique_ptr<Graph> graph;
  try {
    graph = std::make_unique<Graph>(dimension, options, path);
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("index snapshot ", path, ": ", e.what()));
  }
  Hnsw& hnsw = *graph->hnsw;
  if (hnsw.size_data_per_element_ - hnsw.size_links_level0_ - sizeof(hnswlib::labeltype) !=
      graph->space.get_data_size()) {
    return absl::DataLossError(absl::StrCat("index snapshot ", path, " is not of ", dimension,
                                            "-value embeddings in ",
                                            options.half_precision ? "half" : "single",
                                            " precision"));
  }
  for (size_t slot = 0; slot < hnsw.cur_element_count; ++slot) {
    if (hnsw.isMarkedDeleted(static_cast<hnswlib::tableint>(slot))) continue;
    const auto face_id = static_cast<int64_t>(hnsw.getExternalLabel(
        static_cast<hnswlib::tableint>(slot)));
    auto it = subject_of.find(face_id);
    // A face deleted after the snapshot: its deletion is replayed next.
    graph->subject_of[face_id] = graph->Intern(it == subject_of.end() ? "" : it->second);
  }
  hnsw.setEf(1);  // as in Build: Search's k sets the walk's width
  const uint64_t slots = hnsw.cur_element_count;
  auto index = std::unique_ptr<HnswIndex>(
      new HnswIndex(dimension, options, std::move(graph), applied_change));
  absl::MutexLock snapshot(&index->snapshot_mu_);
  index->snapshot_path_ = path;
  index->snapshot_slots_ = slots;
  return index;
}

int64_t HnswIndex::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return static_cast<int64_t>(graph_->subject_of.size());
}

int64_t HnswIndex::without_subject() const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = graph_->subject_index.find("");
  if (it == graph_->subject_index.end()) return 0;
  int64_t n = 0;
  for (const auto& [face, subject] : graph_->subject_of) n += subject == it->second;
  return n;
}

int64_t HnswIndex::deleted() const {
  absl::ReaderMutexLock lock(&mu_);
  return static_cast<int64_t>(graph_->hnsw->num_deleted_);
}

int64_t HnswIndex::applied_change() const {
  absl::ReaderMutexLock lock(&mu_);
  return applied_change_;
}

absl::Status HnswIndex::Add(int64_t face_id, const std::string& subject,
                            std::vector<float> embedding, int64_t change) {
  if (absl::Status s = CheckAndNormalize(&embedding, dimension_, "embedding", 0); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  applied_change_ = std::max(applied_change_, change);
  if (graph_->subject_of.contains(face_id)) {
    return absl::AlreadyExistsError(absl::StrCat("face ", face_id, " is already indexed"));
  }
  if (absl::Status s = graph_->Insert(face_id, graph_->Intern(subject), embedding); !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

void HnswIndex::NoteChange(int64_t change) {
  absl::MutexLock lock(&mu_);
  applied_change_ = std::max(applied_change_, change);
}

bool HnswIndex::RemoveFace(int64_t face_id, int64_t change) {
  absl::MutexLock lock(&mu_);
  applied_change_ = std::max(applied_change_, change);
  if (graph_->subject_of.erase(face_id) == 0) return false;
  Hnsw& hnsw = *graph_->hnsw;
  const hnswlib::tableint slot = hnsw.label_lookup_.at(static_cast<hnswlib::labeltype>(face_id));
  hnsw.markDelete(static_cast<hnswlib::labeltype>(face_id));
  std::memset(hnsw.getDataByInternalId(slot), 0, hnsw.data_size_);
  // A failure here leaves the vector in an older file: logged by the caller
  // through the next snapshot, which replaces it.
  (void)EraseFromSnapshot(slot);
  return true;
}

absl::Status HnswIndex::EraseFromSnapshot(uint32_t slot) {
  absl::MutexLock lock(&snapshot_mu_);
  if (snapshot_path_.empty() || slot >= snapshot_slots_) return absl::OkStatus();
  const Hnsw& hnsw = *graph_->hnsw;
  const off_t offset = static_cast<off_t>(kSavedHeaderBytes + slot * hnsw.size_data_per_element_ +
                                          hnsw.offsetData_);
  const int fd = ::open(snapshot_path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", snapshot_path_);
  const std::vector<char> zeros(hnsw.data_size_, 0);
  const bool ok = ::pwrite(fd, zeros.data(), zeros.size(), offset) ==
                      static_cast<ssize_t>(zeros.size()) &&
                  ::fdatasync(fd) == 0;
  absl::Status status = ok ? absl::OkStatus() : ErrnoError("erasing a face in", snapshot_path_);
  ::close(fd);
  return status;
}

std::vector<int64_t> HnswIndex::FaceIds() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<int64_t> ids;
  ids.reserve(graph_->subject_of.size());
  for (const auto& [id, subject] : graph_->subject_of) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::vector<std::vector<SubjectMatch>>> HnswIndex::Search(
    const std::vector<std::vector<float>>& queries, int top_k, int ef_search) const {
  std::vector<std::vector<float>> unit = queries;
  for (size_t i = 0; i < unit.size(); ++i) {
    if (absl::Status s = CheckAndNormalize(&unit[i], dimension_, "query", i); !s.ok()) return s;
  }
  std::vector<std::vector<SubjectMatch>> results(unit.size());
  if (top_k <= 0) return results;
  absl::ReaderMutexLock lock(&mu_);
  const Graph& graph = *graph_;
  const size_t live = graph.subject_of.size();
  if (live == 0) return results;
  // Enough neighbours that top_k subjects with several faces each are
  // likely among them; hnswlib keeps max(ef, k) candidates while walking.
  const size_t ef = static_cast<size_t>(ef_search > 0 ? ef_search : options_.ef_search);
  const size_t k = std::min(live, std::max(ef, static_cast<size_t>(top_k) * 8));
  std::vector<uint16_t> halves;
  for (size_t q = 0; q < unit.size(); ++q) {
    auto heap = graph.hnsw->searchKnn(graph.space.Encode(unit[q], &halves), k);  // farthest on top
    std::vector<std::pair<float, int64_t>> found;          // (similarity, face)
    found.reserve(heap.size());
    for (; !heap.empty(); heap.pop()) {
      found.emplace_back(1.0f - heap.top().first, static_cast<int64_t>(heap.top().second));
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<int32_t> seen;
    for (const auto& [similarity, face_id] : found) {
      auto it = graph.subject_of.find(face_id);
      if (it == graph.subject_of.end()) continue;
      if (std::find(seen.begin(), seen.end(), it->second) != seen.end()) continue;
      seen.push_back(it->second);
      results[q].push_back(SubjectMatch{graph.subjects[static_cast<size_t>(it->second)], face_id,
                                        similarity});
      if (static_cast<int>(results[q].size()) == top_k) break;
    }
  }
  return results;
}

absl::StatusOr<int64_t> HnswIndex::Save(const std::string& path) {
  absl::ReaderMutexLock lock(&mu_);
  const Hnsw& hnsw = *graph_->hnsw;
  try {
    const_cast<Hnsw&>(hnsw).saveIndex(path);  // reads only; hnswlib did not mark it const
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("writing ", path, ": ", e.what()));
  }
  // saveIndex checks nothing: the size says whether every byte went out,
  // fsync that they are on disk.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("writing", path);
  const uint64_t bottom = hnsw.cur_element_count * hnsw.size_data_per_element_;
  if (static_cast<uint64_t>(st.st_size) < kSavedHeaderBytes + bottom) {
    return absl::InternalError(absl::StrCat("writing ", path, ": short write (disk full?)"));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", path);
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return ErrnoError("syncing", path);
  absl::MutexLock snapshot(&snapshot_mu_);
  snapshot_path_ = path;
  snapshot_slots_ = hnsw.cur_element_count;
  return applied_change_;
}

void HnswIndex::SnapshotMoved(const std::string& path) {
  absl::MutexLock snapshot(&snapshot_mu_);
  snapshot_path_ = path;
}

}  // namespace faceserve
