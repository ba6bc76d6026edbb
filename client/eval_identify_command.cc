// facectl eval-identify DIR : identification accuracy on a folder per
// identity. Every other identity (the 1st, 3rd, ... by name) is enrolled
// from its first image the gate accepts, into a fresh gallery; every other
// image is a probe: of an enrolled identity (mated) or of one never
// enrolled (non-mated, a stranger). Each probe's largest face is identified
// (top 5). Prints closed-set rank-1 and rank-5, open-set TPIR at FPIR 0.1
// and 0.01 (n/a with too few strangers to measure it), and TPIR and FPIR at
// the gallery's own threshold.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/identification_metrics.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

struct Probe {
  std::string path, identity;
  bool mated = false;
};

Json Optional(const std::optional<double>& v) { return v.has_value() ? Json(*v) : Json("n/a"); }

}  // namespace

int RunEvalIdentifyCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.size() != 1) return ctx.UsageError("eval-identify needs one folder");
  auto concurrency = args.GetInt("concurrency", 4, 1, 64);
  if (!concurrency.ok()) return ctx.UsageError(concurrency.status().message());
  absl::StatusOr<std::vector<IdentityFolder>> folders = ListIdentityFolders(args.positional[0]);
  if (!folders.ok()) return ctx.Fail(folders.status());
  const std::string gallery = args.Get("gallery", absl::StrCat("eval-identify-", ::getpid()));
  auto stub = v1::GalleryService::NewStub(MakeChannel(ctx.connection));
  auto call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext context;
    SetDeadline(ctx.connection, context);
    return ((*stub).*method)(&context, request, response);
  };

  v1::CreateGalleryRequest create;
  create.set_name(gallery);
  create.set_predictor(args.Get("predictor"));
  v1::Gallery created;
  if (grpc::Status s = call(&v1::GalleryService::Stub::CreateGallery, create, &created); !s.ok()) {
    return ctx.Fail(FromGrpcStatus(s));
  }
  // Enroll every other identity; its remaining images are mated probes.
  std::vector<Probe> probes;
  int enrolled = 0;
  for (size_t i = 0; i < folders->size(); ++i) {
    const IdentityFolder& f = (*folders)[i];
    size_t first_probe = 0;
    bool mated = false;
    if (i % 2 == 0) {
      for (size_t k = 0; k < f.images.size() && !mated; ++k) {
        absl::StatusOr<std::string> bytes = ReadFileBytes(f.images[k]);
        if (!bytes.ok()) continue;
        v1::EnrollRequest enroll;
        enroll.set_gallery(gallery);
        enroll.set_subject(f.identity);
        enroll.set_largest(true);
        enroll.add_inputs()->mutable_image()->set_encoded(*std::move(bytes));
        v1::EnrollResponse response;
        mated = call(&v1::GalleryService::Stub::Enroll, enroll, &response).ok();
        first_probe = k + 1;
      }
      if (mated) ++enrolled;
    }
    for (size_t k = first_probe; k < f.images.size(); ++k) {
      probes.push_back(Probe{f.images[k], f.identity, mated});
    }
  }

  // Identify every probe, `concurrency` at a time.
  std::vector<std::optional<ProbeResult>> results(probes.size());
  std::atomic<size_t> next{0};
  std::atomic<int> no_face{0}, failed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < *concurrency; ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < probes.size(); i = next++) {
        absl::StatusOr<std::string> bytes = ReadFileBytes(probes[i].path);
        if (!bytes.ok()) {
          ++failed;
          continue;
        }
        v1::IdentifyRequest request;
        request.mutable_image()->set_encoded(*std::move(bytes));
        request.mutable_options()->set_gallery(gallery);
        request.mutable_options()->set_top_k(5);
        v1::IdentifyResponse response;
        if (!call(&v1::GalleryService::Stub::Identify, request, &response).ok()) {
          ++failed;
          continue;
        }
        if (response.faces().empty()) {
          ++no_face;
          continue;
        }
        const auto area = [](const v1::IdentifiedFace& f) {
          return (f.box().x2() - f.box().x1()) * (f.box().y2() - f.box().y1());
        };
        const v1::IdentifiedFace* largest = &response.faces(0);
        for (const v1::IdentifiedFace& f : response.faces()) {
          if (area(f) > area(*largest)) largest = &f;
        }
        ProbeResult r{probes[i].identity, probes[i].mated, {}, {}};
        for (const v1::SubjectMatch& m : largest->identity().matches()) {
          r.candidates.push_back(m.subject());
          r.scores.push_back(m.similarity());
        }
        results[i] = std::move(r);
      }
    });
  }
  for (std::thread& t : workers) t.join();
  if (!args.Has("keep")) {
    v1::DeleteGalleryRequest drop;
    drop.set_name(gallery);
    v1::DeleteGalleryResponse ignored;
    (void)call(&v1::GalleryService::Stub::DeleteGallery, drop, &ignored);
  }

  std::vector<ProbeResult> answered;
  for (auto& r : results) {
    if (r.has_value()) answered.push_back(std::move(*r));
  }
  const OperatingPoint at_threshold = AtThreshold(answered, created.threshold());
  Json j;
  j["identities"] = folders->size();
  j["enrolled"] = enrolled;
  j["mated_probes"] = at_threshold.mated;
  j["non_mated_probes"] = at_threshold.non_mated;
  j["no_face"] = no_face.load();
  j["failed"] = failed.load();
  j["rank1"] = Optional(RankK(answered, 1));
  j["rank5"] = Optional(RankK(answered, 5));
  for (double fpir : {0.1, 0.01}) {
    const OpenSetPoint p = TpirAtFpir(answered, fpir);
    j[absl::StrFormat("tpir_at_fpir_%g", fpir)] = Optional(p.tpir);
    j[absl::StrFormat("threshold_at_fpir_%g", fpir)] =
        p.threshold.has_value() ? Json(CleanFloat(*p.threshold)) : Json("n/a");
  }
  j["threshold"] = CleanFloat(created.threshold());
  j["tpir_at_threshold"] = at_threshold.tpir;
  j["fpir_at_threshold"] = at_threshold.fpir;
  *ctx.out << ToJsonLine(j) << std::endl;
  return failed.load() == 0 ? 0 : 1;
}

}  // namespace faceserve::client
