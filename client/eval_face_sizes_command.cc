// facectl eval-face-sizes PORTRAIT... --backgrounds IMG,... : the face-size
// sweep (client/face_size_sweep.h) against the server: for each portrait,
// images in which its face is 3 % to 90 % of the longer side, at 640 to
// 4000 px, landscape and portrait, judged against the face's reference box
// and landmarks. Prints the table (or every row as JSON).
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/face_size_sweep_runner.h"
#include "client/image_files.h"
#include "core/reader/image_reader.h"

namespace faceserve::client {
namespace {

// "a,b,c" as numbers in [min, max].
template <typename T>
absl::StatusOr<std::vector<T>> NumberList(const std::vector<std::string>& items, const char* flag,
                                          double min, double max) {
  std::vector<T> out;
  for (const std::string& item : items) {
    double v = 0;
    if (!absl::SimpleAtod(item, &v) || v < min || v > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": '", item, "' is not a number in [", min, ", ", max, "]"));
    }
    out.push_back(static_cast<T>(v));
  }
  return out;
}

}  // namespace

int RunEvalFaceSizesCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) return ctx.UsageError("eval-face-sizes needs a PORTRAIT");
  if (args.GetList("backgrounds").empty()) {
    return ctx.UsageError("eval-face-sizes needs --backgrounds (photos without a face)");
  }
  SweepOptions options;
  options.predictors = args.GetList("predictors");
  auto min_score = args.GetDouble("min-score", 0, 0, 1);
  if (!min_score.ok()) return ctx.UsageError(min_score.status().message());
  options.min_score = static_cast<float>(*min_score);
  auto concurrency = args.GetInt("concurrency", 4, 1, 64);
  if (!concurrency.ok()) return ctx.UsageError(concurrency.status().message());
  options.concurrency = static_cast<int>(*concurrency);

  std::vector<float> shares = StandardFaceShares();
  std::vector<int> sides = StandardLongSides();
  if (args.Has("shares")) {
    auto list = NumberList<float>(args.GetList("shares"), "shares", 0.01, 1);
    if (!list.ok()) return ctx.UsageError(list.status().message());
    shares = *list;
  }
  if (args.Has("long-sides")) {
    auto list = NumberList<int>(args.GetList("long-sides"), "long-sides", 64, 8000);
    if (!list.ok()) return ctx.UsageError(list.status().message());
    sides = *list;
  }
  std::vector<SweepStep> steps;
  for (float share : shares) {
    for (int side : sides) {
      for (bool portrait : {false, true}) steps.push_back(SweepStep{share, side, portrait});
    }
  }

  std::vector<SweepPortrait> portraits;
  for (const std::string& path : args.positional) {
    auto rgb = ReadRgbFile(path);
    if (!rgb.ok()) return ctx.Fail(rgb.status());
    portraits.push_back({path, *rgb});
  }
  std::vector<cv::Mat> backgrounds;
  for (const std::string& path : args.GetList("backgrounds")) {
    auto rgb = ReadRgbFile(path);
    if (!rgb.ok()) return ctx.Fail(rgb.status());
    backgrounds.push_back(*rgb);
  }

  auto stub = v1::FaceService::NewStub(MakeChannel(ctx.connection));
  auto rows = RunFaceSizeSweep(*stub, ctx.connection, portraits, backgrounds, steps, options);
  if (!rows.ok()) return ctx.Fail(rows.status());
  if (args.Has("json")) {
    *ctx.out << ToJsonLine(SweepRowsToJson(*rows)) << std::endl;
  } else {
    *ctx.out << SweepTable(*rows);
  }
  return 0;
}

}  // namespace faceserve::client
