// faceserve: the gRPC face-analysis server.
//
//   faceserve [--config PATH] [--set key=value]... [--help]
//
// Start-up: load the configuration, start the metrics endpoint, load every
// model, open the gRPC port (health NOT_SERVING), preheat the models, then
// health SERVING. SIGTERM / SIGINT: health NOT_SERVING, new calls refused,
// calls in flight get a grace period, the pipeline stops, exit 0. A failure
// at start-up prints the reason and exits 1.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/config/config.h"
#include "core/gallery/galleries.h"
#include "core/identification/identifier.h"
#include "core/pipeline/face_pipeline.h"
#include "core/torch/torch_model_loader.h"
#include "server/face_server.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/stop_signal.h"
#include "core/auth/access_control.h"
#include "server/gallery_stores.h"
#include "server/http_api.h"
#include "server/probe_server.h"

#ifndef FACESERVE_VERSION
#define FACESERVE_VERSION "unknown"
#endif

namespace faceserve {
namespace {

// How long calls in flight may take to finish after SIGTERM.

constexpr char kUsage[] =
    "Usage: faceserve [--config PATH] [--set key=value]... [--print-config] [--help]\n"
    "\n"
    "  --config PATH     YAML configuration (default: config/default.yaml)\n"
    "  --set key=value   override one configuration key, e.g.\n"
    "                    --set server.listen=0.0.0.0:50051 --set device.device=cpu\n"
    "                    (repeatable; see docs/configuration.md for every key)\n"
    "  --print-config    print the configuration as read (the file merged over its\n"
    "                    base: files, the --set overrides applied) and exit\n"
    "  --help            this text\n"
    "\n"
    "Serves faceserve.v1.FaceService, grpc.health.v1.Health and server reflection;\n"
    "Prometheus metrics on metrics.listen at /metrics. SIGTERM/SIGINT: graceful stop.\n";

struct Flags {
  std::string config_path = "config/default.yaml";
  std::vector<std::string> overrides;
  bool help = false;
  bool print_config = false;
};

// Accepts "--flag value" and "--flag=value".
absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value_of = [&](const std::string& name, std::string* out) -> absl::Status {
      if (arg == name) {
        if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
        *out = argv[++i];
        return absl::OkStatus();
      }
      *out = arg.substr(name.size() + 1);
      return absl::OkStatus();
    };
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--print-config") {
      flags.print_config = true;
    } else if (arg == "--config" || absl::StartsWith(arg, "--config=")) {
      if (absl::Status s = value_of("--config", &flags.config_path); !s.ok()) return s;
    } else if (arg == "--set" || absl::StartsWith(arg, "--set=")) {
      std::string kv;
      if (absl::Status s = value_of("--set", &kv); !s.ok()) return s;
      if (kv.find('=') == std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set expects key=value, got \"", kv, "\""));
      }
      flags.overrides.push_back(kv);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument \"", arg, "\""));
    }
  }
  return flags;
}

// The advice in the error for a missing model file: every model faceserve
// ships comes out of models/export.py under its file's stem.
std::string ExportHint(const std::string& models_dir, const std::string& stem) {
  return absl::StrCat(
      "To export it, run from the repository root: /usr/bin/python3 "
      "models/export.py --out ",
      models_dir, " --only ", stem, " (scripts/bootstrap.sh exports every model faceserve ships)");
}

// Who may call what: AccessControl over the key store and auth.keys_file.
// A `shared_store` (PostgreSQL) is re-read for other replicas' keys.
absl::StatusOr<std::unique_ptr<AccessControl>> OpenAccessControl(const AuthConfig& config,
                                                                 ApiKeyStore* store,
                                                                 bool shared_store) {
  AccessOptions options;
  options.required = config.required;
  options.keys_file = config.keys_file;
  options.keys_file_poll = absl::Milliseconds(config.keys_file_poll_ms);
  if (shared_store) options.store_poll = absl::Milliseconds(config.store_poll_ms);
  options.log = [](const std::string& line) { LogEvent(line); };
  absl::StatusOr<std::unique_ptr<AccessControl>> access =
      AccessControl::Create(std::move(options), store);
  if (!access.ok()) return access.status();
  if (!config.required) {
    LogEvent("API keys off (auth.required: false): every call is allowed");
  } else {
    const size_t keys = (*access)->ListKeys().size();
    LogEvent(absl::StrCat("API keys required: ", keys, " key(s) valid",
                          keys == 0 ? "; every call will be refused until an admin key is added "
                                      "to auth.keys_file (facectl api-key generate)"
                                    : ""));
  }
  return access;
}

// The HTTP/JSON API in front of `server`; null when http.listen is empty.
absl::StatusOr<std::unique_ptr<HttpApi>> StartHttp(const Config& config, FaceServer* server,
                                                   Metrics* metrics) {
  if (config.http.listen.empty()) return nullptr;
  absl::StatusOr<std::vector<HttpRoute>> routes = UnaryRoutes(server->services());
  if (!routes.ok()) return routes.status();
  const HttpConfig http = ResolvedHttpConfig(config);
  const size_t route_count = routes->size();
  absl::StatusOr<std::unique_ptr<HttpApi>> api =
      HttpApi::Start(http, config.server.tls, HttpMaxBodyBytes(config), server->InProcessChannel(),
                     *std::move(routes),
                     [metrics](const std::string& route, int status, absl::Duration latency) {
                       metrics->OnHttpRequest(route, status, latency);
                     },
                     [server] { return server->AdmissionPreview(); });
  if (!api.ok()) return api.status();
  LogEvent(absl::StrCat("HTTP API on ", config.http.listen, " (port ", (*api)->port(), ", ",
                        config.server.tls.cert_file.empty() ? "plaintext" : "TLS", ", ",
                        route_count, " routes, ", http.threads, " threads)"));
  return api;
}

// /metrics, /healthz and /readyz on metrics.listen; null when it is empty.
// /readyz's detail says when `galleries` (set once loaded) may be stale.
absl::StatusOr<std::unique_ptr<ProbeServer>> StartProbes(
    const Config& config, Metrics* metrics, const std::atomic<bool>* ready,
    const std::atomic<const Galleries*>* galleries) {
  if (config.metrics.listen.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<ProbeServer>> probes = ProbeServer::Start(
      config.metrics.listen,
      ProbeHandlers{[metrics] { return metrics->Scrape(); }, [ready] { return ready->load(); },
                    [galleries, gallery = config.gallery] {
                      return GalleryStalenessDetail(galleries->load(), gallery);
                    }});
  if (!probes.ok()) return probes.status();
  LogEvent(absl::StrCat("metrics on ", config.metrics.listen, " (port ", (*probes)->port(),
                        ") at /metrics; probes at /healthz, /readyz"));
  return probes;
}

// Preheat ran into an error: the main thread is told through
// WakeStopSignalWaiter().
std::atomic<bool> preheat_failed{false};

int Run(int argc, char** argv) {
  absl::StatusOr<Flags> flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "faceserve: %s\n\n%s", std::string(flags.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  if (flags->help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (flags->print_config) {
    absl::StatusOr<std::string> yaml = ResolvedConfigYaml(flags->config_path, flags->overrides);
    if (!yaml.ok()) {
      std::fprintf(stderr, "faceserve: %s\n", std::string(yaml.status().message()).c_str());
      return 1;
    }
    std::fputs(yaml->c_str(), stdout);
    return 0;
  }

  // SIGTERM / SIGINT: a graceful stop, whichever thread they land on.
  if (absl::Status s = InstallStopSignalHandler(); !s.ok()) {
    std::fprintf(stderr, "faceserve: %s\n", s.ToString().c_str());
    return 1;
  }

  LogEvent(absl::StrCat("faceserve ", FACESERVE_VERSION, " starting, config ",
                        flags->config_path,
                        flags->overrides.empty()
                            ? ""
                            : absl::StrCat(" with ", absl::StrJoin(flags->overrides, " "))));
  absl::StatusOr<Config> config = LoadConfig(flags->config_path, flags->overrides);
  if (!config.ok()) {
    LogEvent(absl::StrCat("configuration error: ", config.status().ToString()));
    return 1;
  }

  const std::unique_ptr<Metrics> metrics = Metrics::Create();
  metrics->SetBuildInfo(FACESERVE_VERSION, TorchVersion(), grpc::Version());
  // Ready: preheated and not stopping; /readyz reads it from the start.
  std::atomic<bool> ready{false};
  std::atomic<const Galleries*> probed_galleries{nullptr};
  absl::StatusOr<std::unique_ptr<ProbeServer>> probes =
      StartProbes(*config, metrics.get(), &ready, &probed_galleries);
  if (!probes.ok()) {
    LogEvent(absl::StrCat("cannot start metrics: ", probes.status().ToString()));
    return 1;
  }

  LogEvent(absl::StrCat("loading models on device ", ResolveTorchDevice(config->device)));
  const absl::Time load_start = absl::Now();
  // The CPU run slots outlive the pipeline (declared first, destroyed last).
  const std::unique_ptr<CpuRunSlots> cpu_slots = MakeCpuRunSlots(config->device);
  ModelLoader loader = MakeTorchModelLoader(config->device, cpu_slots.get());
  loader.missing_model_hint = ExportHint;
  absl::StatusOr<std::unique_ptr<FacePipeline>> pipeline =
      FacePipeline::Create(*config, loader, metrics.get(), metrics.get());
  if (!pipeline.ok()) {
    LogEvent(absl::StrCat("cannot load the pipeline: ", pipeline.status().ToString()));
    return 1;
  }
  const std::vector<ModelInfo> models = (*pipeline)->models();
  metrics->SetModelInfo(models);
  for (const ModelInfo& m : models) {
    LogEvent(absl::StrCat("loaded ", m.role, ": ", m.name, " ", m.version, " on ", m.device, " ",
                          m.dtype));
  }
  LogEvent(absl::StrCat("models loaded in ", absl::FormatDuration(absl::Now() - load_start)));
  if (std::string passes = DescribeCpuPasses(cpu_slots.get()); !passes.empty()) LogEvent(passes);

  // Galleries are in memory before the port opens (so before SERVING).
  const absl::Time galleries_start = absl::Now();
  absl::StatusOr<std::unique_ptr<Galleries>> galleries =
      OpenGalleries(config->gallery, metrics.get());
  if (!galleries.ok()) {
    LogEvent(absl::StrCat("cannot open the galleries: ", galleries.status().ToString()));
    (*pipeline)->Shutdown();
    return 1;
  }
  probed_galleries.store(galleries->get());
  std::unique_ptr<Identifier> identifier;
  if (*galleries != nullptr) {
    identifier = std::make_unique<Identifier>(pipeline->get(), galleries->get(),
                                              config->gallery.enroll);
    int64_t faces = 0;
    const auto counts = (*galleries)->FaceCounts();
    for (const auto& [name, n] : counts) faces += n;
    LogEvent(absl::StrCat("galleries: ", counts.size(), " with ", faces, " faces loaded from ",
                          GalleryStoreName(config->gallery), " in ",
                          absl::FormatDuration(absl::Now() - galleries_start)));
  }

  absl::StatusOr<std::unique_ptr<ApiKeyStore>> key_store = OpenApiKeyStore(config->gallery);
  absl::StatusOr<std::unique_ptr<AccessControl>> access =
      key_store.ok() ? OpenAccessControl(config->auth, key_store->get(),
                                         config->gallery.backend == "postgres")
                     : absl::StatusOr<std::unique_ptr<AccessControl>>(key_store.status());
  if (!access.ok()) {
    LogEvent(absl::StrCat("cannot read the API keys: ", access.status().ToString()));
    (*pipeline)->Shutdown();
    return 1;
  }

  absl::StatusOr<std::unique_ptr<FaceServer>> server = FaceServer::Start(
      *config, pipeline->get(), metrics.get(), GalleryServing{galleries->get(), identifier.get()},
      access->get());
  if (!server.ok()) {
    LogEvent(absl::StrCat("cannot start the gRPC server: ", server.status().ToString()));
    (*pipeline)->Shutdown();
    return 1;
  }
  absl::StatusOr<std::unique_ptr<HttpApi>> http = StartHttp(*config, server->get(), metrics.get());
  if (!http.ok()) {
    LogEvent(absl::StrCat("cannot start the HTTP API: ", http.status().ToString()));
    (*server)->Shutdown(absl::ZeroDuration());
    (*pipeline)->Shutdown();
    return 1;
  }
  const TlsConfig& tls = config->server.tls;
  LogEvent(absl::StrCat("gRPC listening on ", config->server.listen, " (port ",
                        (*server)->port(), ", ",
                        tls.cert_file.empty()          ? "plaintext"
                        : tls.client_ca_file.empty() ? "TLS"
                                                     : "mutual TLS",
                        "), health NOT_SERVING until preheated"));

  // Preheat after the port is open, so that health can be polled meanwhile.
  // Preheat() is what makes the pipeline ready; with device.preheat off it
  // skips the model runs.
  FacePipeline* const p = pipeline->get();
  FaceServer* const s = server->get();
  Metrics* const m = metrics.get();
  std::thread preheat([p, s, m, &ready] {
    LogEvent("preheating models");
    const absl::Time start = absl::Now();
    const absl::Status status = p->Preheat();
    const absl::Duration took = absl::Now() - start;
    if (p->state() == PipelineState::kShuttingDown) {
      // SIGTERM came first: Preheat() stopped between batch sizes (CANCELLED)
      // or finished without making the pipeline ready. Not a failure.
      LogEvent(
          absl::StrCat("preheat stopped after ", absl::FormatDuration(took), ": shutting down"));
      return;
    }
    if (!status.ok()) {
      LogEvent(absl::StrCat("preheat failed after ", absl::FormatDuration(took), ": ",
                            status.ToString()));
      preheat_failed.store(true);
      WakeStopSignalWaiter();
      return;
    }
    m->SetPreheatDuration(took);
    s->SetServing(true);
    ready.store(true);
    LogEvent(absl::StrCat("preheated in ", absl::FormatDuration(took), "; health SERVING"));
  });

  int exit_code = 0;
  for (;;) {
    const int signal = WaitForStopSignal();
    if (signal == 0) {
      if (!preheat_failed.load()) continue;
      exit_code = 1;
      break;
    }
    ready.store(false);  // /readyz: 503 from now on
    LogEvent(absl::StrCat("received ", strsignal(signal), ", shutting down (grace ",
                          absl::FormatDuration(absl::Milliseconds(config->server.shutdown_grace_ms)), ")"));
    break;
  }

  const bool clean = (*server)->Shutdown(absl::Milliseconds(config->server.shutdown_grace_ms));
  LogEvent(clean ? "gRPC server stopped, every call finished"
                 : "gRPC server stopped, calls still running at the end of the grace period "
                   "were cancelled");
  if (*http != nullptr) (*http)->Stop();
  (*pipeline)->Shutdown();
  preheat.join();
  LogEvent("pipeline stopped");
  server->reset();
  access->reset();
  key_store->reset();
  identifier.reset();
  probed_galleries.store(nullptr);
  galleries->reset();
  pipeline->reset();
  LogEvent(absl::StrCat("exiting with status ", exit_code));
  return exit_code;
}

}  // namespace
}  // namespace faceserve

int main(int argc, char** argv) { return faceserve::Run(argc, argv); }
