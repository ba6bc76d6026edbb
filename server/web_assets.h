// The browser page's files (server/web/: index.html, app.js, style.css),
// compiled into the binary so that a deployed server needs nothing beside
// it. HttpApi serves them at "/", "/app.js" and "/style.css".
#ifndef FACESERVE_SERVER_WEB_ASSETS_H_
#define FACESERVE_SERVER_WEB_ASSETS_H_

#include <string_view>
#include <vector>

namespace faceserve {

struct WebAsset {
  std::string_view path;          // "/" for index.html
  std::string_view content_type;
  std::string_view body;
};

const std::vector<WebAsset>& WebAssets();

}  // namespace faceserve

#endif  // FACESERVE_SERVER_WEB_ASSETS_H_
