// facectl bench : load generator. Keeps --concurrency callback-API calls in
// flight (spread over --channels connections), sending the images round-robin
// (each read once), for --requests calls or --duration seconds; then prints a
// summary. Latency percentiles are over successful calls only; req/s counts
// every finished call, images/s the successful ones.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/gallery_file.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "client/latency_stats.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;
using Clock = std::chrono::steady_clock;

// Results of the finished calls. Thread-safe.
class BenchStats {
 public:
  void Record(const grpc::Status& status, double latency_ms, int faces) {
    finished_.fetch_add(1);
    if (status.ok()) {
      latencies_.Add(latency_ms);
      std::lock_guard<std::mutex> lock(mu_);
      ++ok_;
      faces_ += faces;
    } else {
      error_latencies_.Add(latency_ms);
      std::lock_guard<std::mutex> lock(mu_);
      ++errors_[StatusCodeName(static_cast<absl::StatusCode>(status.error_code()))];
      if (first_error_.ok()) first_error_ = FromGrpcStatus(status);
    }
  }
  int64_t finished() const { return finished_.load(); }

  std::atomic<int64_t> finished_{0};
  LatencyRecorder latencies_;        // calls answered OK
  LatencyRecorder error_latencies_;  // calls that failed (e.g. refused under overload)
  mutable std::mutex mu_;
  int64_t ok_ = 0;                        // guarded by mu_
  int64_t faces_ = 0;                     // guarded by mu_
  std::map<std::string, int64_t> errors_; // guarded by mu_
  absl::Status first_error_;              // guarded by mu_
};

struct Call {
  grpc::ClientContext context;
  v1::AnalyzeResponse analyze;
  v1::EmbedResponse embed;
  v1::IdentifyResponse identify;
  v1::SearchResponse search;
  Clock::time_point start;
};

// Redraws a progress line on stderr every 200 ms until Stop().
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, const BenchStats& stats, int64_t total_requests,
              double duration_s, Clock::time_point start)
      : err_(err), stats_(stats), total_(total_requests), duration_s_(duration_s), start_(start),
        thread_([this] { Loop(); }) {}
  ~ProgressBar() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    err_ << "\r\033[K" << std::flush;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; })) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      const int64_t done = stats_.finished();
      const double fraction =
          total_ > 0 ? static_cast<double>(done) / total_ : std::min(1.0, elapsed / duration_s_);
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(fraction * kWidth);
      std::string bar(filled, '=');
      if (filled < kWidth) bar += '>';
      bar.resize(kWidth, ' ');
      err_ << "\r[" << bar << "] " << done;
      if (total_ > 0) err_ << "/" << total_;
      err_ << absl::StrFormat("  %.1f s  %.1f req/s", elapsed, elapsed > 0 ? done / elapsed : 0.0)
           << std::flush;
    }
  }

  std::ostream& err_;
  const BenchStats& stats_;
  const int64_t total_;
  const double duration_s_;
  const Clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace

int RunBenchCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) return ctx.UsageError("bench needs at least one IMAGE");
  auto concurrency = args.GetInt("concurrency", 1, 1, 4096);
  if (!concurrency.ok()) return ctx.UsageError(concurrency.status().message());
  auto channels = args.GetInt("channels", 1, 1, 256);
  if (!channels.ok()) return ctx.UsageError(channels.status().message());
  if (args.Has("requests") == args.Has("duration")) {
    return ctx.UsageError("bench needs exactly one of --requests and --duration");
  }
  auto requests = args.GetInt("requests", 0, 1, int64_t{1} << 40);
  if (!requests.ok()) return ctx.UsageError(requests.status().message());
  auto duration_s = args.GetDouble("duration", 0, 0.001, 7 * 24 * 3600.0);
  if (!duration_s.ok()) return ctx.UsageError(duration_s.status().message());
  // Open loop: calls start at this rate whatever the server answers (0: as
  // fast as --concurrency allows, closed loop).
  auto rate = args.GetDouble("rate", 0, 0.001, 1e6);
  if (!rate.ok()) return ctx.UsageError(rate.status().message());
  const std::string rpc = args.Get("rpc", "analyze");
  if (rpc != "analyze" && rpc != "embed" && rpc != "identify" && rpc != "search") {
    return ctx.UsageError("--rpc must be analyze, embed, identify or search");
  }
  if (rpc != "analyze" && args.Has("predictors")) {
    return ctx.UsageError("--predictors applies to --rpc analyze");
  }
  if ((rpc == "identify" || rpc == "search") != args.Has("gallery")) {
    return ctx.UsageError("--gallery goes with --rpc identify or search, and only with them");
  }

  // Every image read once; one prebuilt request each, sent round-robin.
  std::vector<v1::AnalyzeRequest> analyze_requests;
  std::vector<v1::EmbedRequest> embed_requests;
  std::vector<v1::IdentifyRequest> identify_requests;
  std::vector<v1::SearchRequest> search_requests;
  if (rpc == "search") {
    // One query per face of the gallery files given (facectl gallery export's
    // format), each its own call.
    for (const std::string& path : args.positional) {
      absl::StatusOr<std::vector<std::vector<float>>> faces = ReadGalleryFileFaces(path);
      if (!faces.ok()) return ctx.Fail(faces.status());
      for (const std::vector<float>& face : *faces) {
        v1::SearchRequest& r = search_requests.emplace_back();
        r.mutable_options()->set_gallery(args.Get("gallery"));
        *r.add_queries()->mutable_values() = {face.begin(), face.end()};
      }
    }
    if (search_requests.empty()) return ctx.UsageError("the query files hold no faces");
  }
  for (const std::string& path : rpc == "search" ? std::vector<std::string>{} : args.positional) {
    auto bytes = ReadFileBytes(path);
    if (!bytes.ok()) return ctx.Fail(bytes.status());
    if (rpc == "analyze") {
      v1::AnalyzeRequest& r = analyze_requests.emplace_back();
      r.mutable_image()->set_encoded(*bytes);
      for (const std::string& p : args.GetList("predictors")) r.mutable_options()->add_predictors(p);
    } else if (rpc == "embed") {
      v1::EmbedRequest& r = embed_requests.emplace_back();
      r.mutable_image()->set_encoded(*bytes);
      r.set_selection(v1::FACE_SELECTION_ALL);
    } else {
      v1::IdentifyRequest& r = identify_requests.emplace_back();
      r.mutable_image()->set_encoded(*bytes);
      r.mutable_options()->set_gallery(args.Get("gallery"));
    }
  }
  const size_t image_count = rpc == "search" ? search_requests.size() : args.positional.size();

  std::vector<std::unique_ptr<v1::FaceService::Stub>> stubs;
  std::vector<std::unique_ptr<v1::GalleryService::Stub>> gallery_stubs;
  for (int64_t c = 0; c < *channels; ++c) {
    auto channel = MakeChannel(ctx.connection, /*own_connection=*/*channels > 1);
    const auto connect_deadline =
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(ctx.connection.timeout_ms > 0 ? ctx.connection.timeout_ms : 10000);
    if (!channel->WaitForConnected(connect_deadline)) {
      return ctx.Fail(absl::UnavailableError(
          absl::StrCat("cannot connect to ", ctx.connection.server)));
    }
    stubs.push_back(v1::FaceService::NewStub(channel));
    gallery_stubs.push_back(v1::GalleryService::NewStub(channel));
  }

  BenchStats stats;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::microseconds(static_cast<int64_t>(*duration_s * 1e6));
  std::unique_ptr<ProgressBar> progress;
  if (ctx.err_is_tty) {
    progress = std::make_unique<ProgressBar>(*ctx.err, stats, args.Has("requests") ? *requests : 0,
                                             *duration_s, start);
  }
  RunWithConcurrency(
      static_cast<int>(*concurrency),
      [&](int64_t i) { return args.Has("requests") ? i < *requests : Clock::now() < end; },
      [&](int64_t i, std::function<void()> done) {
        if (*rate > 0) {
          std::this_thread::sleep_until(
              start + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / *rate)));
        }
        auto* call = new Call;
        SetDeadline(ctx.connection, call->context);
        v1::FaceService::Stub* stub = stubs[i % stubs.size()].get();
        const size_t image = static_cast<size_t>(i) % image_count;
        call->start = Clock::now();
        auto on_done = [call, done, &stats](grpc::Status status) {
          const double ms =
              std::chrono::duration<double, std::milli>(Clock::now() - call->start).count();
          const int faces =
              call->analyze.faces_size() + call->embed.faces_size() + call->identify.faces_size();
          stats.Record(status, ms, faces);
          delete call;
          done();
        };
        if (rpc == "analyze") {
          stub->async()->Analyze(&call->context, &analyze_requests[image], &call->analyze, on_done);
        } else if (rpc == "embed") {
          stub->async()->Embed(&call->context, &embed_requests[image], &call->embed, on_done);
        } else if (rpc == "search") {
          gallery_stubs[i % gallery_stubs.size()]->async()->Search(
              &call->context, &search_requests[image], &call->search, on_done);
        } else {
          gallery_stubs[i % gallery_stubs.size()]->async()->Identify(
              &call->context, &identify_requests[image], &call->identify, on_done);
        }
      });
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (progress) progress->Stop();

  const LatencySummary latency = stats.latencies_.Summary();
  const LatencySummary error_latency = stats.error_latencies_.Summary();
  std::lock_guard<std::mutex> lock(stats.mu_);
  const int64_t total = stats.finished();
  const int64_t errors = total - stats.ok_;
  const double rps = wall_s > 0 ? total / wall_s : 0;
  const double ips = wall_s > 0 ? stats.ok_ / wall_s : 0;
  const double faces_per_image = stats.ok_ > 0 ? static_cast<double>(stats.faces_) / stats.ok_ : 0;

  if (args.Has("json")) {
    Json out = Json::object();
    out["rpc"] = rpc;
    out["concurrency"] = *concurrency;
    out["channels"] = *channels;
    out["images"] = image_count;
    out["requests"] = total;
    out["ok"] = stats.ok_;
    Json errs = Json::object();
    for (const auto& [code, count] : stats.errors_) errs[code] = count;
    out["errors"] = std::move(errs);
    out["wall_s"] = wall_s;
    out["requests_per_s"] = rps;
    out["images_per_s"] = ips;
    out["latency_ms"] = Json{{"p50", latency.p50}, {"p90", latency.p90}, {"p99", latency.p99},
                             {"max", latency.max}, {"mean", latency.mean}, {"min", latency.min}};
    out["error_latency_ms"] =
        Json{{"p50", error_latency.p50}, {"p90", error_latency.p90}, {"p99", error_latency.p99},
             {"max", error_latency.max}, {"mean", error_latency.mean}, {"min", error_latency.min}};
    if (*rate > 0) out["offered_requests_per_s"] = *rate;
    out["faces_per_image"] = faces_per_image;
    *ctx.out << ToJsonLine(out) << std::endl;
  } else {
    std::ostream& o = *ctx.out;
    o << absl::StrFormat("rpc: %s  concurrency: %d  channels: %d  images: %d\n", rpc, *concurrency,
                         *channels, image_count);
    o << absl::StrFormat("requests: %d  ok: %d  errors: %d", total, stats.ok_, errors);
    if (errors > 0) {
      o << " (";
      bool first = true;
      for (const auto& [code, count] : stats.errors_) {
        o << (first ? "" : ", ") << code << ": " << count;
        first = false;
      }
      o << ")";
    }
    o << "\n";
    o << absl::StrFormat("wall time: %.3f s\n", wall_s);
    o << absl::StrFormat("throughput: %.1f req/s, %.1f images/s\n", rps, ips);
    o << absl::StrFormat("latency (ms): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", latency.p50,
                         latency.p90, latency.p99, latency.max);
    if (errors > 0) {
      o << absl::StrFormat("failed-call latency (ms): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
                           error_latency.p50, error_latency.p90, error_latency.p99,
                           error_latency.max);
    }
    o << absl::StrFormat("faces per image: %.2f\n", faces_per_image);
    o.flush();
  }
  if (errors > 0) {
    return ctx.Fail(absl::Status(
        stats.first_error_.code(),
        absl::StrCat(errors, " of ", total, " requests failed; first: ", stats.first_error_.message())));
  }
  return 0;
}

}  // namespace faceserve::client
