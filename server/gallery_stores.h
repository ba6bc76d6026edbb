// The gallery store and the API key store that gallery.backend names
// (sqlite, postgres or none), opened for the server: the galleries loaded
// into memory (Galleries), the keys' store beside them.
#ifndef FACESERVE_SERVER_GALLERY_STORES_H_
#define FACESERVE_SERVER_GALLERY_STORES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/auth/api_key_store.h"
#include "core/config/config.h"
#include "core/gallery/galleries.h"
#include "server/metrics.h"

namespace faceserve {

// The galleries of `config`, loaded into memory; null with backend none.
// `metrics` sees every search pass and, with a shared store, each read of
// its change log.
absl::StatusOr<std::unique_ptr<Galleries>> OpenGalleries(const GalleryConfig& config,
                                                         Metrics* metrics);

// The API keys' store: the gallery database (null with backend none: keys
// come from auth.keys_file alone).
absl::StatusOr<std::unique_ptr<ApiKeyStore>> OpenApiKeyStore(const GalleryConfig& config);

// Where the galleries are, for the log: the SQLite file, or "PostgreSQL"
// (never the connection string: it may hold a password).
std::string GalleryStoreName(const GalleryConfig& config);

// /readyz's detail line when galleries may be stale ("" when not).
std::string GalleryStalenessDetail(const Galleries* galleries, const GalleryConfig& config);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_GALLERY_STORES_H_
