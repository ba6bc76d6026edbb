#include "server/gallery_stores.h"

#include <atomic>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/log.h"
#ifdef FACESERVE_WITH_SQLITE
#include "core/gallery/sqlite_api_key_store.h"
#include "core/gallery/sqlite_gallery_store.h"
#endif
#ifdef FACESERVE_WITH_POSTGRES
#include "core/gallery/pg_api_key_store.h"
#include "core/gallery/pg_gallery_store.h"
#endif

namespace faceserve {
namespace {

[[maybe_unused]] absl::Status NotBuiltWith(const std::string& backend, const std::string& package) {
  return absl::FailedPreconditionError(absl::StrCat("gallery.backend: ", backend,
                                                    ", but this build has no ", backend, " (",
                                                    package, "); set gallery.backend: none"));
}

absl::StatusOr<std::unique_ptr<GalleryStore>> OpenStore(const GalleryConfig& config) {
  if (config.backend == "postgres") {
#ifdef FACESERVE_WITH_POSTGRES
    absl::StatusOr<std::unique_ptr<PgGalleryStore>> store =
        PgGalleryStore::Open(config.postgres.dsn);
    if (!store.ok()) return store.status();
    return std::unique_ptr<GalleryStore>(*std::move(store));
#else
    return NotBuiltWith("postgres", "libpq-dev");
#endif
  }
#ifdef FACESERVE_WITH_SQLITE
  const std::filesystem::path path(config.sqlite.path);
  std::error_code error;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), error);
  absl::StatusOr<std::unique_ptr<SqliteGalleryStore>> store = SqliteGalleryStore::Open(path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<GalleryStore>(*std::move(store));
#else
  return NotBuiltWith("sqlite", "libsqlitecpp-dev");
#endif
}

}  // namespace

absl::StatusOr<std::unique_ptr<Galleries>> OpenGalleries(const GalleryConfig& config,
                                                         Metrics* metrics) {
  if (config.backend == "none") return nullptr;
  absl::StatusOr<std::unique_ptr<GalleryStore>> store = OpenStore(config);
  if (!store.ok()) return store.status();
  SearchBatchingOptions search;
  search.window = absl::Microseconds(config.search_window_us);
  search.max_queries = config.search_max_queries;
  search.max_pending = config.search_max_pending;
  IndexingOptions indexing;
  indexing.approximate_from_faces = config.index.approximate_from_faces;
  indexing.hnsw = HnswOptions{config.index.hnsw.m, config.index.hnsw.ef_construction,
                              config.index.hnsw.ef_search, config.index.hnsw.half_precision};
  indexing.search_threads = config.index.search_threads;
  indexing.build_threads = config.index.build_threads;
  // Snapshots sit beside the SQLite file by default; a PostgreSQL replica
  // keeps them only where told (a container's disk is often not kept).
  indexing.snapshot_dir = config.index.snapshot_dir;
  if (indexing.snapshot_dir.empty() && config.backend == "sqlite") {
    indexing.snapshot_dir = config.sqlite.path + ".index";
  }
  indexing.snapshot_interval = absl::Seconds(config.index.snapshot_interval_s);
  indexing.log = [](const std::string& line) { LogEvent(line); };
  indexing.follow.poll = absl::Milliseconds(config.postgres.poll_ms);
  indexing.follow.change_retention = absl::Seconds(config.postgres.change_retention_s);
  // Set once Open() returns; the follower may pass before that.
  auto opened = std::make_shared<std::atomic<Galleries*>>(nullptr);
  indexing.follow.on_pass = [metrics, opened](const FollowState& state) {
    metrics->OnGalleryStoreRead(state.in_step, state.last_in_step, state.change);
    // Faces per gallery, kept current as other replicas' changes arrive.
    if (Galleries* g = opened->load()) metrics->SyncGalleryFaces(g->FaceCounts());
  };
  absl::StatusOr<std::unique_ptr<Galleries>> galleries =
      Galleries::Open(*std::move(store), search, std::move(indexing),
                      [metrics](int queries, absl::Duration took) {
                        metrics->OnGallerySearchPass(queries, took);
                      });
  if (!galleries.ok()) return galleries.status();
  opened->store(galleries->get());
  return galleries;
}

absl::StatusOr<std::unique_ptr<ApiKeyStore>> OpenApiKeyStore(const GalleryConfig& config) {
  if (config.backend == "postgres") {
#ifdef FACESERVE_WITH_POSTGRES
    absl::StatusOr<std::unique_ptr<PgApiKeyStore>> store = PgApiKeyStore::Open(config.postgres.dsn);
    if (!store.ok()) return store.status();
    return std::unique_ptr<ApiKeyStore>(*std::move(store));
#else
    return nullptr;
#endif
  }
  if (config.backend == "none") return nullptr;
#ifdef FACESERVE_WITH_SQLITE
  absl::StatusOr<std::unique_ptr<SqliteApiKeyStore>> store =
      SqliteApiKeyStore::Open(config.sqlite.path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<ApiKeyStore>(*std::move(store));
#else
  return nullptr;
#endif
}

std::string GalleryStoreName(const GalleryConfig& config) {
  return config.backend == "postgres" ? std::string("PostgreSQL") : config.sqlite.path;
}

std::string GalleryStalenessDetail(const Galleries* galleries, const GalleryConfig& config) {
  if (galleries == nullptr) return "";
  const FollowState state = galleries->follow_state();
  if (!state.shared) return "";
  const absl::Duration age = absl::Now() - state.last_in_step;
  if (state.in_step && age < absl::Milliseconds(config.postgres.stale_after_ms)) return "";
  return absl::StrFormat(
      "galleries may be stale: the gallery store's change log was last read %.1f s ago (at "
      "change %d)%s; searches answer from memory, enrollments fail until it is back\n",
      absl::ToDoubleSeconds(age), state.change,
      state.error.empty() ? "" : absl::StrCat(": ", state.error));
}

}  // namespace faceserve
