// facectl enroll (one subject, its images) and enroll-dir (a folder per
// subject): GalleryService.Enroll, with the gate's rejections reported per
// image and, for a folder, summed by rule.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/commands.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "core/error_reason.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

constexpr int kImagesPerEnroll = 16;  // the server's limit per request

// "k=v,k2=v2" -> map; INVALID_ARGUMENT without '='.
absl::StatusOr<std::map<std::string, std::string>> ParseMetadata(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--metadata: '", item, "' is not key=value"));
    }
    out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
  }
  return out;
}

// An Enroll of `images`; the response, or the call's error.
absl::StatusOr<v1::EnrollResponse> EnrollImages(const CommandContext& ctx,
                                                v1::GalleryService::Stub& stub,
                                                v1::EnrollRequest request,
                                                const std::vector<std::string>& images) {
  for (const std::string& path : images) {
    absl::StatusOr<std::string> bytes = ReadFileBytes(path);
    if (!bytes.ok()) return bytes.status();
    request.add_inputs()->mutable_image()->set_encoded(*std::move(bytes));
  }
  v1::EnrollResponse response;
  grpc::ClientContext context;
  SetDeadline(ctx.connection, context);
  grpc::Status status = stub.Enroll(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

Json ResultsToJson(const v1::EnrollResponse& response, const std::vector<std::string>& images) {
  Json results = Json::array();
  for (int i = 0; i < response.results_size(); ++i) {
    const v1::EnrollResult& r = response.results(i);
    Json j;
    j["image"] = i < static_cast<int>(images.size()) ? images[static_cast<size_t>(i)] : "";
    if (r.has_rejection()) {
      j["rejected"] = {{"rule", r.rejection().rule()},
                       {"message", r.rejection().message()},
                       {"value", CleanFloat(r.rejection().value())},
                       {"limit", CleanFloat(r.rejection().limit())}};
    } else {
      j["face_id"] = r.face_id();
      if (r.has_box()) j["box"] = BoxToJson(r.box());
    }
    results.push_back(std::move(j));
  }
  return results;
}

void DrawProgress(const CommandContext& ctx, size_t done, size_t total) {
  if (!ctx.err_is_tty || total == 0) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / total);
  *ctx.err << "\r[" << std::string(static_cast<size_t>(filled), '#')
           << std::string(static_cast<size_t>(kWidth - filled), ' ') << "] " << done << "/"
           << total << " subjects" << (done == total ? "\n" : "") << std::flush;
}

}  // namespace

int RunEnrollCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (!args.Has("gallery") || !args.Has("subject")) {
    return ctx.UsageError("enroll needs --gallery G and --subject S");
  }
  if (args.positional.empty()) return ctx.UsageError("enroll needs at least one image");
  if (args.positional.size() > kImagesPerEnroll) {
    return ctx.UsageError(absl::StrCat("at most ", kImagesPerEnroll, " images per enroll"));
  }
  absl::StatusOr<std::map<std::string, std::string>> metadata = ParseMetadata(args.Get("metadata"));
  if (!metadata.ok()) return ctx.UsageError(metadata.status().message());
  v1::EnrollRequest request;
  request.set_gallery(args.Get("gallery"));
  request.set_subject(args.Get("subject"));
  request.set_largest(args.Has("largest"));
  request.set_idempotency_key(args.Get("idempotency-key"));
  for (const auto& [k, v] : *metadata) (*request.mutable_metadata())[k] = v;
  auto stub = v1::GalleryService::NewStub(MakeChannel(ctx.connection));
  absl::StatusOr<v1::EnrollResponse> response =
      EnrollImages(ctx, *stub, std::move(request), args.positional);
  if (!response.ok()) return ctx.Fail(response.status());
  Json j;
  j["subject"] = response->subject();
  j["results"] = ResultsToJson(*response, args.positional);
  if (response->replayed()) j["replayed"] = true;
  *ctx.out << ToJsonLine(j) << std::endl;
  return 0;
}

int RunEnrollDirCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (!args.Has("gallery")) return ctx.UsageError("enroll-dir needs --gallery G");
  if (args.positional.size() != 1) return ctx.UsageError("enroll-dir needs one folder");
  auto concurrency = args.GetInt("concurrency", 4, 1, 64);
  if (!concurrency.ok()) return ctx.UsageError(concurrency.status().message());
  absl::StatusOr<std::vector<IdentityFolder>> folders = ListIdentityFolders(args.positional[0]);
  if (!folders.ok()) return ctx.Fail(folders.status());
  auto stub = v1::GalleryService::NewStub(MakeChannel(ctx.connection));
  std::mutex mu;
  std::map<std::string, int> by_rule;
  int accepted = 0, rejected = 0, failed_subjects = 0;
  size_t finished = 0;
  std::vector<std::thread> workers;
  std::atomic<size_t> next{0};
  for (int w = 0; w < *concurrency; ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < folders->size(); i = next++) {
        const IdentityFolder& f = (*folders)[i];
        for (size_t start = 0; start < f.images.size(); start += kImagesPerEnroll) {
          const std::vector<std::string> chunk(
              f.images.begin() + static_cast<long>(start),
              f.images.begin() + static_cast<long>(std::min(f.images.size(), start + kImagesPerEnroll)));
          v1::EnrollRequest request;
          request.set_gallery(args.Get("gallery"));
          request.set_subject(f.identity);
          request.set_largest(args.Has("largest"));
          absl::StatusOr<v1::EnrollResponse> r = EnrollImages(ctx, *stub, request, chunk);
          std::lock_guard<std::mutex> lock(mu);
          if (r.ok()) {
            for (const v1::EnrollResult& result : r->results()) {
              if (result.has_rejection()) {
                ++rejected;
                ++by_rule[result.rejection().rule()];
              } else {
                ++accepted;
              }
            }
          } else if (ReasonOf(r.status()) == ErrorReason::kEnrollRejected) {
            for (const auto& [key, rule] : MetadataOf(r.status())) {
              ++rejected;
              ++by_rule[rule];
            }
          } else {
            ++failed_subjects;
            ctx.PrintError(absl::Status(r.status().code(),
                                        absl::StrCat(f.identity, ": ", r.status().message())));
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        DrawProgress(ctx, ++finished, folders->size());
      }
    });
  }
  for (std::thread& t : workers) t.join();
  Json j;
  j["subjects"] = folders->size();
  j["accepted"] = accepted;
  j["rejected"] = rejected;
  j["rejected_by_rule"] = Json::object();
  for (const auto& [rule, n] : by_rule) j["rejected_by_rule"][rule] = n;
  j["failed_subjects"] = failed_subjects;
  *ctx.out << ToJsonLine(j) << std::endl;
  return failed_subjects == 0 ? 0 : 1;
}

}  // namespace faceserve::client
