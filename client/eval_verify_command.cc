// facectl eval-verify PAIRS.csv : verification accuracy of the server's
// embedding model over a labelled pair list.
//
// Each distinct image is embedded once (Embed, FACE_SELECTION_LARGEST; when no
// face is found, again as a face crop with FACE_SELECTION_WHOLE_IMAGE, and
// counted), up to --concurrency calls in flight. Images that --crops names
// (fnmatch globs on the CSV's paths) are face crops: embedded whole at once,
// since a detector may find a spurious part-face in a tight crop. Similarities are computed
// here; the decision threshold is --threshold or, by default, the server's
// configured one, read from one Verify call on two of the embeddings.
#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "core/error_reason.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "client/pairs_csv.h"
#include "client/verification_metrics.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

// Per distinct image; written by exactly one call chain, read after all end.
struct ImageResult {
  std::vector<float> embedding;
  bool as_crop = false;
  absl::Status status;
};

// One Embed call in flight; deletes itself when done.
struct EmbedCall {
  grpc::ClientContext context;
  v1::EmbedRequest request;
  v1::EmbedResponse response;
};

class Embedder {
 public:
  Embedder(const CommandContext& ctx, v1::FaceService::Stub* stub, std::string predictor,
           std::vector<ImageResult>* results)
      : ctx_(ctx), stub_(stub), predictor_(std::move(predictor)), results_(results) {}

  // Starts embedding image `index` from `bytes` (a face crop: whole, with no
  // detection); calls done() once finished.
  void Start(size_t index, std::string bytes, bool face_crop, std::function<void()> done) {
    auto* call = new EmbedCall;
    call->request.mutable_image()->set_encoded(std::move(bytes));
    call->request.set_selection(face_crop ? v1::FACE_SELECTION_WHOLE_IMAGE
                                          : v1::FACE_SELECTION_LARGEST);
    Issue(index, call, std::move(done));
  }

  int completed() const { return completed_.load(); }
  std::string model() const {
    std::lock_guard<std::mutex> lock(mu_);
    return model_;
  }

 private:
  void Issue(size_t index, EmbedCall* call, std::function<void()> done) {
    call->request.set_predictor(predictor_);
    SetDeadline(ctx_.connection, call->context);
    stub_->async()->Embed(
        &call->context, &call->request, &call->response,
        [this, index, call, done = std::move(done)](grpc::Status status) mutable {
          ImageResult& result = (*results_)[index];
          const bool whole = call->request.selection() == v1::FACE_SELECTION_WHOLE_IMAGE;
          const bool no_face = (status.ok() && call->response.faces_size() == 0) ||
                               status.error_code() == grpc::StatusCode::NOT_FOUND;
          if (no_face && !whole) {
            // Retry as a face crop, with a fresh context.
            auto* retry = new EmbedCall;
            retry->request = std::move(call->request);
            retry->request.set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
            delete call;
            Issue(index, retry, std::move(done));
            return;
          }
          if (!status.ok()) {
            result.status = FromGrpcStatus(status);
          } else if (call->response.faces_size() == 0) {
            result.status = absl::NotFoundError("no face, even as a face crop");
          } else {
            const auto& values = call->response.faces(0).embedding().values();
            result.embedding.assign(values.begin(), values.end());
            result.as_crop = whole;
            std::lock_guard<std::mutex> lock(mu_);
            if (model_.empty()) model_ = call->response.model();
          }
          delete call;
          completed_.fetch_add(1);
          done();
        });
  }

  const CommandContext& ctx_;
  v1::FaceService::Stub* const stub_;
  const std::string predictor_;
  std::vector<ImageResult>* const results_;
  std::atomic<int> completed_{0};
  mutable std::mutex mu_;
  std::string model_;  // guarded by mu_
};

std::string FormatMetric(double v) {
  return std::isnan(v) ? std::string("n/a") : absl::StrFormat("%.4f", v);
}

Json JsonNumber(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

}  // namespace

int RunEvalVerifyCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.size() != 1) return ctx.UsageError("eval-verify needs one PAIRS.csv");
  auto concurrency = args.GetInt("concurrency", 8, 1, 1024);
  if (!concurrency.ok()) return ctx.UsageError(concurrency.status().message());
  auto flag_threshold = args.GetDouble("threshold", 0, -1, 1);
  if (!flag_threshold.ok()) return ctx.UsageError(flag_threshold.status().message());
  const std::string csv_path = args.positional[0];
  // Default root: the CSV's folder.
  const std::string root =
      args.Has("root") ? args.Get("root")
                       : std::filesystem::path(csv_path).parent_path().string();

  auto csv = ReadFileBytes(csv_path);
  if (!csv.ok()) return ctx.Fail(csv.status());
  auto pairs = ParsePairsCsv(*csv);
  if (!pairs.ok()) {
    return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(csv_path, ": ", pairs.status().message())));
  }
  if (pairs->empty()) return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(csv_path, ": no pairs")));

  // Distinct images in order of first appearance.
  std::vector<std::string> images;
  std::map<std::string, size_t> index_of;
  std::vector<std::pair<size_t, size_t>> pair_images;
  for (const ImagePair& p : *pairs) {
    size_t ab[2];
    for (int k = 0; k < 2; ++k) {
      const std::string& name = k == 0 ? p.img_a : p.img_b;
      auto [it, inserted] = index_of.emplace(name, images.size());
      if (inserted) images.push_back(name);
      ab[k] = it->second;
    }
    pair_images.emplace_back(ab[0], ab[1]);
  }

  const std::vector<std::string> crops = args.GetList("crops");
  auto channel = MakeChannel(ctx.connection);
  auto stub = v1::FaceService::NewStub(channel);
  std::vector<ImageResult> results(images.size());
  Embedder embedder(ctx, stub.get(), args.Get("predictor"), &results);
  const auto started = std::chrono::steady_clock::now();
  RunWithConcurrency(
      static_cast<int>(*concurrency),
      [&](int64_t i) {
        if (ctx.err_is_tty) {
          *ctx.err << "\rembedding images: " << embedder.completed() << "/" << images.size()
                   << std::flush;
        }
        return static_cast<size_t>(i) < images.size();
      },
      [&](int64_t i, std::function<void()> done) {
        auto bytes = ReadFileBytes(JoinPath(root, images[i]));
        if (!bytes.ok()) {
          results[i].status = bytes.status();
          done();
          return;
        }
        const bool face_crop = std::any_of(crops.begin(), crops.end(), [&](const std::string& glob) {
          return fnmatch(glob.c_str(), images[i].c_str(), 0) == 0;
        });
        embedder.Start(static_cast<size_t>(i), *std::move(bytes), face_crop, std::move(done));
      });
  if (ctx.err_is_tty) *ctx.err << "\r\033[K" << std::flush;
  const double embed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  size_t failed = 0, as_crops = 0;
  absl::Status first_error;
  for (size_t i = 0; i < images.size(); ++i) {
    if (!results[i].status.ok()) {
      if (failed < 10) {
        ctx.PrintError(absl::Status(results[i].status.code(),
                                    absl::StrCat(images[i], ": ", results[i].status.message())));
      }
      if (first_error.ok()) first_error = results[i].status;
      ++failed;
    }
    as_crops += results[i].as_crop ? 1 : 0;
  }
  if (failed > 0) {
    return ctx.Fail(absl::Status(first_error.code(),
                                 absl::StrCat(failed, " of ", images.size(), " images could not be embedded")));
  }

  std::vector<ScoredPair> scored;
  scored.reserve(pair_images.size());
  for (size_t k = 0; k < pair_images.size(); ++k) {
    auto s = CosineSimilarity(results[pair_images[k].first].embedding,
                              results[pair_images[k].second].embedding);
    if (!s) {
      return ctx.Fail(absl::InternalError(absl::StrCat(
          "pair ", k + 1, ": embeddings of different sizes or zero norm")));
    }
    scored.push_back({*s, (*pairs)[k].same});
  }

  // The threshold: the flag's, or the server's (one Verify on two embeddings).
  double threshold = *flag_threshold;
  std::string model = embedder.model();
  const bool server_threshold = !args.Has("threshold");
  if (server_threshold) {
    v1::VerifyRequest request;
    const auto& a = results[pair_images[0].first].embedding;
    const auto& b = results[pair_images[0].second].embedding;
    request.mutable_a()->mutable_embedding()->mutable_values()->Add(a.begin(), a.end());
    request.mutable_b()->mutable_embedding()->mutable_values()->Add(b.begin(), b.end());
    request.set_predictor(args.Get("predictor"));
    v1::VerifyResponse response;
    grpc::ClientContext context;
    SetDeadline(ctx.connection, context);
    grpc::Status status = stub->Verify(&context, request, &response);
    if (!status.ok()) {
      absl::Status s = FromGrpcStatus(status);
      return ctx.Fail(WithPrefix(s, "reading the server's threshold: "));
    }
    threshold = response.threshold();
    if (model.empty()) model = response.model();
  }

  size_t positives = 0;
  for (const ScoredPair& p : scored) positives += p.same ? 1 : 0;
  const double accuracy = AccuracyAtThreshold(scored, threshold);
  const ThresholdAccuracy best = FindBestAccuracy(scored);
  const CrossValidatedAccuracy cv = KFoldAccuracy(scored, 10);
  const double auc = RocAuc(scored);
  const TarAtFar tar2 = ComputeTarAtFar(scored, 1e-2);
  const TarAtFar tar3 = ComputeTarAtFar(scored, 1e-3);
  // False match rate at the threshold, and what it means for 1:N search: a
  // stranger is matched to someone of N enrolled subjects with probability
  // FPIR = 1 - (1 - FMR)^N (independent comparisons).
  int false_matches = 0, false_non_matches = 0;
  for (const ScoredPair& p : scored) {
    if (!p.same && p.similarity >= threshold) ++false_matches;
    if (p.same && p.similarity < threshold) ++false_non_matches;
  }
  const size_t negatives = scored.size() - positives;
  const double fmr = negatives == 0 ? 0 : static_cast<double>(false_matches) / negatives;
  const double fnmr = positives == 0 ? 0 : static_cast<double>(false_non_matches) / positives;
  auto fpir = [fmr](int n) { return 1 - std::pow(1 - fmr, n); };

  if (args.Has("json")) {
    Json out = Json::object();
    out["pairs"] = scored.size();
    out["positive_pairs"] = positives;
    out["negative_pairs"] = scored.size() - positives;
    out["images"] = images.size();
    out["images_as_crops"] = as_crops;
    out["model"] = model;
    out["threshold"] = threshold;
    out["threshold_source"] = server_threshold ? "server" : "flag";
    out["accuracy"] = JsonNumber(accuracy);
    out["best_accuracy"] = JsonNumber(best.accuracy);
    out["best_threshold"] = best.threshold;
    out["cv10_accuracy"] = JsonNumber(cv.mean);
    out["cv10_accuracy_stddev"] = JsonNumber(cv.stddev);
    out["roc_auc"] = JsonNumber(auc);
    Json tars = Json::object();
    for (const TarAtFar* t : {&tar2, &tar3}) {
      tars[t == &tar2 ? "1e-2" : "1e-3"] = Json{{"tar", JsonNumber(t->tar)},
                                                {"threshold", JsonNumber(t->threshold)},
                                                {"far", JsonNumber(t->far)}};
    }
    out["tar_at_far"] = std::move(tars);
    out["fmr_at_threshold"] = JsonNumber(fmr);
    out["false_matches"] = false_matches;
    out["fnmr_at_threshold"] = JsonNumber(fnmr);
    out["fpir_projected"] = Json{{"100", JsonNumber(fpir(100))},
                                 {"1000", JsonNumber(fpir(1000))},
                                 {"10000", JsonNumber(fpir(10000))}};
    out["embed_seconds"] = embed_seconds;
    *ctx.out << ToJsonLine(out) << std::endl;
    return 0;
  }
  std::ostream& o = *ctx.out;
  o << "pairs: " << scored.size() << " (" << positives << " same, " << scored.size() - positives
    << " different)\n";
  o << "images: " << images.size() << " (" << as_crops << " embedded as face crops)\n";
  o << "model: " << model << "\n";
  o << absl::StrFormat("accuracy at threshold %.4f (%s): %s\n", threshold,
                       server_threshold ? "server's" : "--threshold", FormatMetric(accuracy));
  o << absl::StrFormat("at the threshold: FMR %s (%d of %d different pairs match), FNMR %s\n",
                       FormatMetric(fmr), false_matches, static_cast<int>(negatives),
                       FormatMetric(fnmr));
  o << absl::StrFormat("1:N projection, FPIR = 1 - (1 - FMR)^N: N=100 %.4f, N=1000 %.4f, "
                       "N=10000 %.4f\n",
                       fpir(100), fpir(1000), fpir(10000));
  o << absl::StrFormat("best accuracy: %s at threshold %.4f\n", FormatMetric(best.accuracy),
                       best.threshold);
  o << absl::StrFormat("10-fold accuracy (threshold chosen on the other 9 folds): %s +- %s\n",
                       FormatMetric(cv.mean), FormatMetric(cv.stddev));
  o << "ROC AUC: " << FormatMetric(auc) << "\n";
  for (const TarAtFar* t : {&tar2, &tar3}) {
    o << absl::StrFormat("TAR at FAR %s: %s (threshold %.4f, achieved FAR %s over %d negatives)\n",
                         t == &tar2 ? "1e-2" : "1e-3", FormatMetric(t->tar), t->threshold,
                         FormatMetric(t->far), t->negatives);
  }
  o << absl::StrFormat("embedding time: %.2f s\n", embed_seconds);
  o.flush();
  return 0;
}

}  // namespace faceserve::client
