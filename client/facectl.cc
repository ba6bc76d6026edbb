#include "client/facectl.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "client/command_line.h"
#include "client/command_table.h"
#include "client/commands.h"
#include "core/error_reason.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

constexpr char kGlobalOptions[] =
    "Global options (before or after the subcommand):\n"
    "  --server HOST:PORT   server address (default 127.0.0.1:50051)\n"
    "  --timeout-ms MS      deadline of each call (default 30000; 0: none)\n"
    "  --tls-ca FILE        use TLS; trust the server certificate's CA in FILE (PEM)\n"
    "  --tls-cert FILE      mutual TLS: the client certificate (PEM; with --tls-key;\n"
    "                       without --tls-ca the system's CAs are trusted)\n"
    "  --tls-key FILE       the client certificate's private key (PEM)\n"
    "  --api-key KEY        send KEY with every call (authorization: Bearer KEY);\n"
    "                       default: $FACESERVE_API_KEY, which keeps the key out of\n"
    "                       the process list\n"
    "  -h, --help           this text, or a subcommand's\n";

const std::vector<CommandInfo>& Commands() {
  static auto* const commands = new std::vector<CommandInfo>{
      {"analyze",
       "usage: facectl analyze IMAGE... [--predictors a,b | --detect-only] [--min-score S]\n"
       "                       [--max-faces N] [--embeddings] [--draw OUT.jpg] [--crops DIR]\n"
       "Detects and analyses the faces of each image; prints one JSON object per image,\n"
       "one per line (JSON Lines).\n"
       "  --predictors a,b  predictors to run (default: every configured one)\n"
       "  --detect-only     detection alone: boxes, scores, the detector's landmarks\n"
       "  --min-score S     drop faces scoring below S (default: the server's)\n"
       "  --max-faces N     analyse at most N faces (default: the server's)\n"
       "  --embeddings      include face embeddings\n"
       "  --draw OUT.jpg    write the annotated image (several images: OUT_0.jpg, OUT_1.jpg...)\n"
       "  --crops DIR       write each face crop as DIR/<image>_face<k>.jpg\n",
       {{"predictors", true}, {"detect-only", false}, {"min-score", true}, {"max-faces", true},
        {"embeddings", false}, {"draw", true}, {"crops", true}},
       &RunAnalyzeCommand},
      {"embed",
       "usage: facectl embed IMAGE... [--largest | --crop] [--predictor NAME]\n"
       "Prints the embedding of every face of each image, one JSON object per line.\n"
       "  --largest         only the largest face\n"
       "  --crop            the image is a face crop: embed the whole image\n"
       "  --predictor NAME  embedding predictor (default: the server's)\n",
       {{"largest", false}, {"crop", false}, {"predictor", true}},
       &RunEmbedCommand},
      {"verify",
       "usage: facectl verify IMAGE_A IMAGE_B [--crops] [--threshold T] [--predictor NAME]\n"
       "Compares the largest face of two images; prints\n"
       "{\"similarity\", \"match\", \"threshold\", \"model\", ...}.\n"
       "  --crops           the images are face crops (no detection)\n"
       "  --threshold T     decision threshold on cosine similarity (default: the server's)\n"
       "  --predictor NAME  embedding predictor (default: the server's)\n",
       {{"crops", false}, {"threshold", true}, {"predictor", true}},
       &RunVerifyCommand},
      {"eval-verify",
       "usage: facectl eval-verify PAIRS.csv [--root DIR] [--concurrency N] [--threshold T]\n"
       "                           [--predictor NAME] [--crops GLOB,...] [--json]\n"
       "Verification accuracy over a labelled pair list (CSV with a header naming the\n"
       "columns img_a, img_b, same; other columns ignored). Each distinct image is embedded\n"
       "once (largest face; when none is found, as a face crop); prints accuracy at the\n"
       "threshold, the best accuracy and its threshold, ROC AUC, TAR at FAR 1e-2 and 1e-3.\n"
       "  --root DIR        folder the image paths are relative to (default: the CSV's)\n"
       "  --concurrency N   Embed calls in flight (default 8)\n"
       "  --threshold T     threshold for the accuracy (default: the server's)\n"
       "  --predictor NAME  embedding predictor (default: the server's)\n"
       "  --crops GLOB,...  images whose path (as in the CSV) matches are face crops:\n"
       "                    embedded whole, no detection (e.g. '*/dlib_*' for dlib chips)\n"
       "  --json            print the results as one JSON object\n",
       {{"root", true}, {"concurrency", true}, {"threshold", true}, {"predictor", true},
        {"crops", true}, {"json", false}},
       &RunEvalVerifyCommand},
      {"eval-detect",
       "usage: facectl eval-detect BOXES.csv [--images LIST.csv] [--root DIR] [--iou T]\n"
       "                           [--min-score S] [--json]\n"
       "Detection recall against hand-drawn face boxes (CSV with a header, rows\n"
       "image,x1,y1,x2,y2 in pixels), each image analysed with detect_only. Annotated\n"
       "boxes and detections are matched one to one by IoU, highest first. Prints the\n"
       "recall, the unmatched detections on annotated images and the false positives on\n"
       "images without a face.\n"
       "  --images LIST.csv every image to run, in the first column after a header;\n"
       "                    those without boxes have no face (default: BOXES.csv's images)\n"
       "  --root DIR        folder of the images, or of an images/ folder holding them\n"
       "                    (default: the CSV's)\n"
       "  --iou T           IoU at which a detection matches a box (default 0.4)\n"
       "  --min-score S     detection score threshold (default: the server's)\n"
       "  --json            print the results as one JSON object\n",
       {{"images", true}, {"root", true}, {"iou", true}, {"min-score", true}, {"json", false}},
       &RunEvalDetectCommand},
      {"eval-face-sizes",
       "usage: facectl eval-face-sizes PORTRAIT... --backgrounds IMG,... [--predictors a,b]\n"
       "                               [--min-score S] [--shares F,...] [--long-sides PX,...]\n"
       "                               [--concurrency N] [--json]\n"
       "The face-size sweep: each portrait's face made 3 % to 90 % of the longer side of\n"
       "images 640 to 4000 px long, landscape and portrait, laid over the background photos\n"
       "(photos without a face), sent as JPEG. Each image passes (found) when exactly one\n"
       "face is reported at IoU >= 0.6 with the face's reference box, its five landmarks\n"
       "within 5 % of the face's width of theirs; moved when a landmark is further off, lost\n"
       "when no face matches the box, extra when others come with it. The reference is the\n"
       "server's own answer at 15 %, averaged over every longer side and orientation.\n"
       "Prints face share x longer side (found/images, nM moved, nL lost, nE extra).\n"
       "  --backgrounds I,. photos without a face to lay the portraits over (required)\n"
       "  --predictors a,b  predictors to run (default: detection alone); name a landmark\n"
       "                    predictor when the detector gives no five landmarks\n"
       "  --min-score S     detection score threshold (default: the server's)\n"
       "  --shares F,...    face shares of the longer side (default: the sweep's 23)\n"
       "  --long-sides P,.. longer sides in pixels (default 640,1280,1536,1920,4000)\n"
       "  --concurrency N   images made and in flight at once (default 4)\n"
       "  --json            print every image's row as one JSON array\n",
       {{"backgrounds", true}, {"predictors", true}, {"min-score", true}, {"shares", true},
        {"long-sides", true}, {"concurrency", true}, {"json", false}},
       &RunEvalFaceSizesCommand},
      {"bench",
       "usage: facectl bench --concurrency N (--requests M | --duration S)\n"
       "                     [--rpc analyze|embed|identify|search] [--gallery G]\n"
       "                     [--rate R] [--predictors a,b] [--channels K] [--json] IMAGE...\n"
       "Load test: N calls in flight, the images sent round-robin; prints requests, ok,\n"
       "errors by code, wall time, throughput, latency p50/p90/p99/max of the answered\n"
       "calls and of the failed ones, and faces per image. Exits 1 when any call failed.\n"
       "  --concurrency N   calls in flight at most (default 1)\n"
       "  --rate R          open loop: start R calls per second whatever the answers\n"
       "                    (default: closed loop, a new call as soon as one ends)\n"
       "  --requests M      stop after M calls\n"
       "  --duration S      stop starting calls after S seconds\n"
       "  --rpc R           analyze (default), embed, identify (with --gallery G), or\n"
       "                    search (with --gallery G): then the operands are gallery\n"
       "                    files (facectl gallery export) and each face is one query\n"
       "  --predictors a,b  predictors to run (analyze)\n"
       "  --channels K      spread the calls over K connections (default 1)\n"
       "  --json            print the summary as one JSON object\n",
       {{"concurrency", true}, {"requests", true}, {"duration", true}, {"rpc", true},
        {"predictors", true}, {"channels", true}, {"json", false},
        {"rate", true}, {"gallery", true}},
       &RunBenchCommand},
      {"stream",
       "usage: facectl stream VIDEO [--predictors a,b] [--detect-every N] [--min-score S]\n"
       "                      [--embeddings] [--live] [--max-frames N] [--jpeg-quality Q]\n"
       "                      [--draw OUT.mp4] [--summary-only] [--preload] [--fps F]\n"
       "                      [--identify GALLERY] [--best-shots DIR] [--smoothing-ms MS]\n"
       "                      [--max-queued N]\n"
       "Decodes VIDEO here and sends its frames over one AnalyzeStream; prints one JSON\n"
       "object per processed frame ({\"frame\", \"time_s\", \"detected\", \"faces\": [{\"track_id\",\n"
       "\"box\", ...}], \"events\"}), the server's last answer ({\"end_of_stream\": true, the\n"
       "tracks ended with their summaries}), then {\"summary\": {...}} with each track's first\n"
       "and last frame, best shot and identity. VIDEO may also be a folder of JPEG frames (*.jpg, in name order; make-clip\n"
       "--frames writes one), sent as they are at --fps F (default 25). The stream has no\n"
       "deadline (--timeout-ms does not apply).\n"
       "  --predictors a,b  predictors to run on detected frames (default: every one)\n"
       "  --detect-every N  detect faces on every Nth frame, tracks predicted between\n"
       "                    (default: the server's, 1)\n"
       "  --min-score S     drop faces scoring below S (default: the server's)\n"
       "  --embeddings      include face embeddings\n"
       "  --live            send at the video's frame rate; the server skips the oldest\n"
       "                    frames when it falls behind (default: file mode, no frame\n"
       "                    skipped, as fast as the server answers)\n"
       "  --max-frames N    send at most N frames\n"
       "  --jpeg-quality Q  frames travel as JPEG of quality Q (default 90)\n"
       "  --draw OUT.mp4    write the video with each track's box and id\n"
       "  --summary-only    print the summary alone\n"
       "  --preload         decode and encode every frame before streaming (memory:\n"
       "                    the whole clip as JPEG), so that sending costs no CPU here\n"
       "  --identify G      name each track from gallery G, decided over several frames\n"
       "  --best-shots DIR  write each track's best shot as DIR/track_<id>.jpg\n"
       "  --smoothing-ms MS time constant of the tracks' smoothed attributes (default:\n"
       "                    the server's, 1000)\n"
       "  --max-queued N    frames the server holds while one is processed (default:\n"
       "                    the server's)\n",
       {{"predictors", true}, {"detect-every", true}, {"min-score", true}, {"embeddings", false},
        {"live", false}, {"max-frames", true}, {"jpeg-quality", true}, {"draw", true},
        {"summary-only", false}, {"preload", false}, {"fps", true}, {"identify", true},
        {"best-shots", true}, {"smoothing-ms", true}, {"max-queued", true}},
       &RunStreamCommand},
      {"eval-track",
       "usage: facectl eval-track --faces DIR --backgrounds IMG,... [--sequences N] [--first K]\n"
       "                          [--seed S] [--detect-every 1,3] [--predictors a,b]\n"
       "                          [--max-people N] [--max-photos N] [--lost-ttl-ms MS]\n"
       "Tracking accuracy on generated sequences (3 people, 10 s at 25 fps, 640x480, with\n"
       "crossings, a full occlusion, an exit and return in another photo, a 3x scale\n"
       "change, motion blur, JPEG 60), each streamed in file mode once per --detect-every\n"
       "value. Prints one JSON line per sequence and setting (idf1, mota, id_switches,\n"
       "switches_per_1000 truth frames, ...), then the totals of each setting.\n"
       "  --faces DIR        one folder per person, 2 photos or more each\n"
       "  --backgrounds I,.. photos without faces\n"
       "  --sequences N      how many (default 20), from index --first K (default 0)\n"
       "  --seed S           the set's seed (default 1)\n"
       "  --detect-every L   the settings to measure (default 1,3)\n"
       "  --predictors a,b   predictors on detected frames (default: every one; name the\n"
       "                     embedding predictor alone for speed: it re-links tracks)\n"
       "  --max-people N     use the first N people only (default: all)\n"
       "  --max-photos N     photos per person (default 4)\n"
       "  --lost-ttl-ms MS   the stream's lost_track_ttl_ms (default 10000: longer than\n"
       "                     the 3 to 4 s a person is away, unseen)\n"
       "  --dump FILE        append every frame's truths, ignored boxes and tracks to FILE\n"
       "                     (JSON Lines), to see where tracking went wrong\n",
       {{"faces", true}, {"backgrounds", true}, {"sequences", true}, {"first", true},
        {"seed", true}, {"detect-every", true}, {"predictors", true}, {"max-people", true},
        {"max-photos", true}, {"lost-ttl-ms", true}, {"dump", true}},
       &RunEvalTrackCommand},
      {"make-clip",
       "usage: facectl make-clip PHOTO... --out CLIP.mp4 [--seconds-per-photo S] [--fps F]\n"
       "                         [--size WxH] [--frames DIR]\n"
       "Makes a video from still photos: the camera zooms in and pans across each in\n"
       "turn, so its faces move and grow. Runs here; no server needed.\n"
       "  --out CLIP.mp4         the video to write (MP4, mp4v)\n"
       "  --seconds-per-photo S  (default 2)\n"
       "  --fps F                (default 25)\n"
       "  --size WxH             (default 640x480)\n"
       "  --frames DIR           also write every frame as DIR/frame_NNNNN.jpg (JPEG 90)\n",
       {{"out", true}, {"seconds-per-photo", true}, {"fps", true}, {"size", true},
        {"frames", true}},
       &RunMakeClipCommand},
      {"health",
       "usage: facectl health [--service NAME] [--wait S]\n"
       "Checks grpc.health.v1; prints the status and exits 0 only when SERVING.\n"
       "  --service NAME    service to check (default: the server as a whole)\n"
       "  --wait S          retry for up to S seconds until SERVING\n",
       {{"service", true}, {"wait", true}},
       &RunHealthCommand},
  };
  static const bool galleries_added = [] {
    for (CommandInfo& c : GalleryCommandTable()) commands->push_back(std::move(c));
    return true;
  }();
  (void)galleries_added;
  return *commands;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags =
      new std::vector<FlagSpec>{{"server", true},   {"timeout-ms", true}, {"tls-ca", true},
                                {"tls-cert", true}, {"tls-key", true},    {"api-key", true},
                                {"help", false}};
  return *flags;
}

bool IsHelp(const std::string& arg) { return arg == "-h" || arg == "--help"; }

}  // namespace

std::string FacectlUsage() {
  std::string usage =
      "usage: facectl [--server HOST:PORT] [--timeout-ms MS]\n"
      "               [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--api-key KEY]\n"
      "               COMMAND [ARGS...]\n"
      "Client of the faceserve face-analysis server.\n\nCommands:\n"
      "  analyze      detect and analyse faces (JSON Lines)\n"
      "  embed        face embeddings (JSON Lines)\n"
      "  verify       compare the faces of two images\n"
      "  eval-verify  verification accuracy over a labelled pair list\n"
      "  eval-detect  detection recall against hand-drawn face boxes\n"
      "  eval-face-sizes  detection of one face at every size (the face-size sweep)\n"
      "  bench        load test with many concurrent calls\n"
      "  stream       a video's faces tracked over one AnalyzeStream (JSON Lines)\n"
      "  make-clip    a video made from still photos (for trying stream)\n"
      "  eval-track   tracking accuracy (MOTA, IDF1) on generated sequences\n"
      "  health       grpc.health.v1 check\n"
      "  gallery      create, list, delete, export, import galleries\n"
      "  subject      list, show, delete a gallery's subjects\n"
      "  enroll       enroll a subject's face from images\n"
      "  enroll-dir   enroll a folder with one sub-folder per subject\n"
      "  identify     who is each face of an image (JSON Lines)\n"
      "  eval-identify  identification accuracy on a folder per identity\n"
      "  api-key      generate, create, list, revoke API keys\n\n";
  absl::StrAppend(
      &usage, kGlobalOptions,
      "\nExit status: 0 success; 1 failure (\"error: <CODE> [<REASON>]: <message>\" on stderr,\n"
      "the [<REASON>] when the server sent one: NO_FACE, IMAGE_TOO_LARGE, ...);\n"
      "2 bad usage. 'facectl COMMAND --help' describes a command.\n");
  return usage;
}

int CommandContext::UsageError(absl::string_view message) const {
  *err << "error: " << message << "\n\n" << usage << std::flush;
  return 2;
}

void CommandContext::PrintError(const absl::Status& status) const {
  // The server's reason, when it sent one, for scripts: "error: NOT_FOUND
  // [NO_FACE]: no face found in image a ...".
  *err << "error: " << StatusCodeName(status.code());
  if (HasReason(status)) *err << " [" << ReasonNameOf(status) << "]";
  *err << ": " << status.message() << std::endl;
}

int CommandContext::Fail(const absl::Status& status) const {
  PrintError(status);
  return 1;
}

int RunFacectl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               bool err_is_tty) {
  CommandContext ctx;
  ctx.out = &out;
  ctx.err = &err;
  ctx.err_is_tty = err_is_tty;
  ctx.usage = FacectlUsage();

  // Global flags before the subcommand.
  size_t i = 0;
  std::vector<std::string> leading;
  while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
    if (IsHelp(args[i])) {
      out << FacectlUsage();
      return 0;
    }
    leading.push_back(args[i]);
    const bool inline_value = args[i].find('=') != std::string::npos;
    const bool takes_value = args[i] == "--server" || args[i] == "--timeout-ms" ||
                             args[i] == "--tls-ca" || args[i] == "--tls-cert" ||
                             args[i] == "--tls-key" || args[i] == "--api-key";
    if (takes_value && !inline_value && i + 1 < args.size()) {
      leading.push_back(args[++i]);
    }
    ++i;
  }
  auto global = ParseArgs(leading, GlobalFlags());
  if (!global.ok()) return ctx.UsageError(global.status().message());
  if (i >= args.size()) return ctx.UsageError("no command given");
  std::string name = args[i++];
  std::vector<std::string> rest(args.begin() + i, args.end());
  if (name == "help") {
    if (rest.empty()) {
      out << FacectlUsage();
      return 0;
    }
    name = rest[0];
    rest = {"--help"};
  }

  const CommandInfo* command = nullptr;
  for (const CommandInfo& c : Commands()) {
    if (name == c.name) command = &c;
  }
  if (command == nullptr) return ctx.UsageError(absl::StrCat("unknown command '", name, "'"));
  ctx.usage = absl::StrCat(command->usage, "\n", kGlobalOptions);

  std::vector<FlagSpec> specs = command->flags;
  specs.insert(specs.end(), GlobalFlags().begin(), GlobalFlags().end());
  for (const std::string& a : rest) {
    if (a == "--") break;
    if (IsHelp(a)) {
      out << ctx.usage;
      return 0;
    }
  }
  auto parsed = ParseArgs(rest, specs);
  if (!parsed.ok()) return ctx.UsageError(parsed.status().message());

  // A global flag after the subcommand overrides one before it.
  std::string tls_ca, tls_cert, tls_key;
  if (const char* key = std::getenv("FACESERVE_API_KEY")) ctx.connection.api_key = key;
  for (const ParsedArgs* p : {&*global, &*parsed}) {
    ctx.connection.api_key = p->Get("api-key", ctx.connection.api_key);
    if (p->Has("server")) ctx.connection.server = p->Get("server");
    auto timeout = p->GetInt("timeout-ms", ctx.connection.timeout_ms, 0, int64_t{1} << 40);
    if (!timeout.ok()) return ctx.UsageError(timeout.status().message());
    ctx.connection.timeout_ms = *timeout;
    tls_ca = p->Get("tls-ca", tls_ca);
    tls_cert = p->Get("tls-cert", tls_cert);
    tls_key = p->Get("tls-key", tls_key);
  }
  if (ctx.connection.server.empty()) return ctx.UsageError("--server must not be empty");
  if (absl::Status s = LoadTlsFiles(tls_ca, tls_cert, tls_key, &ctx.connection); !s.ok()) {
    if (s.code() == absl::StatusCode::kInvalidArgument) return ctx.UsageError(s.message());
    return ctx.Fail(s);
  }
  return command->run(ctx, *parsed);
}

}  // namespace faceserve::client
