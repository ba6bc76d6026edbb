// A subject's metadata as the gallery databases store it: a JSON object of
// strings (SQLite and PostgreSQL alike, so a gallery moves between them as
// it is).
#ifndef FACESERVE_CORE_GALLERY_METADATA_JSON_H_
#define FACESERVE_CORE_GALLERY_METADATA_JSON_H_

#include <string>

#include "core/gallery/gallery_store.h"

namespace faceserve {

std::string MetadataToJson(const Metadata& metadata);
// Non-string values and text that is not a JSON object are dropped.
Metadata MetadataFromJson(const std::string& text);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_METADATA_JSON_H_
