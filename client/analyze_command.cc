// facectl analyze IMAGE... : one Analyze call per image, in order; one JSON
// object per line on stdout. A failing image is reported on stderr and the
// others still run; the exit code is then 1.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/analyze_file.h"
#include "client/commands.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {

namespace v1 = faceserve::v1;

int RunAnalyzeCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) return ctx.UsageError("analyze needs at least one IMAGE");
  auto min_score = args.GetDouble("min-score", 0, 0, 1);
  if (!min_score.ok()) return ctx.UsageError(min_score.status().message());
  auto max_faces = args.GetInt("max-faces", 0, 0, 1 << 20);
  if (!max_faces.ok()) return ctx.UsageError(max_faces.status().message());
  const std::string draw = args.Get("draw");
  const std::string crops_dir = args.Get("crops");
  const bool embeddings = args.Has("embeddings");
  if (args.Has("draw") && draw.empty()) return ctx.UsageError("--draw needs a file name");
  if (args.Has("crops") && crops_dir.empty()) return ctx.UsageError("--crops needs a folder");
  const bool detect_only = args.Has("detect-only");
  if (detect_only && args.Has("predictors")) {
    return ctx.UsageError("--detect-only runs no predictor: drop --predictors");
  }

  v1::AnalyzeOptions options;
  for (const std::string& p : args.GetList("predictors")) options.add_predictors(p);
  options.set_detect_only(detect_only);
  options.set_min_detection_score(static_cast<float>(*min_score));
  options.set_max_faces(static_cast<int32_t>(*max_faces));
  options.set_return_embeddings(embeddings);
  options.set_return_annotated_image(!draw.empty());
  options.set_return_face_crops(!crops_dir.empty());
  if (!crops_dir.empty()) {
    if (absl::Status s = EnsureDirectory(crops_dir); !s.ok()) return ctx.Fail(s);
  }

  auto stub = v1::FaceService::NewStub(MakeChannel(ctx.connection));
  const size_t n = args.positional.size();
  std::set<std::string> used_stems;
  int exit_code = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& path = args.positional[i];
    absl::StatusOr<v1::AnalyzeResponse> analyzed =
        AnalyzeFile(*stub, ctx.connection, path, options);
    if (!analyzed.ok()) {
      ctx.PrintError(analyzed.status());
      exit_code = 1;
      continue;
    }
    const v1::AnalyzeResponse& response = *analyzed;

    AnalyzeJsonOptions json_options;
    json_options.include_embeddings = embeddings;
    if (!draw.empty()) {
      const std::string out_path = n == 1 ? draw : IndexedPath(draw, i);
      if (response.annotated_jpeg().empty()) {
        ctx.PrintError(absl::InternalError(absl::StrCat(path, ": the server returned no annotated image")));
        exit_code = 1;
      } else if (absl::Status s = WriteFileBytes(out_path, response.annotated_jpeg()); !s.ok()) {
        ctx.PrintError(s);
        exit_code = 1;
      } else {
        json_options.annotated_path = out_path;
      }
    }
    if (!crops_dir.empty()) {
      std::string stem = FileStem(path);
      if (!used_stems.insert(stem).second) stem = absl::StrCat(stem, "_", i);
      used_stems.insert(stem);
      for (int f = 0; f < response.faces_size(); ++f) {
        const std::string& jpeg = response.faces(f).crop_jpeg();
        std::string crop_path;
        if (!jpeg.empty()) {
          crop_path = JoinPath(crops_dir, absl::StrCat(stem, "_face", f, ".jpg"));
          if (absl::Status s = WriteFileBytes(crop_path, jpeg); !s.ok()) {
            ctx.PrintError(s);
            exit_code = 1;
            crop_path.clear();
          }
        }
        json_options.crop_paths.push_back(crop_path);
      }
    }
    *ctx.out << ToJsonLine(AnalyzeResponseToJson(path, response, json_options)) << std::endl;
  }
  return exit_code;
}

}  // namespace faceserve::client
