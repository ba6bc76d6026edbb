// facectl eval-track: tracking accuracy on the synthetic sequences of
// synthetic_sequence.h (issue 32, item 7). Each photo's face is found once by
// the server (detect_only, the largest face: the truth boxes' reference);
// each sequence is rendered here and streamed in file mode (OVERFLOW_BLOCK:
// no frame skipped) once per --detect-every value; the answers are scored
// with core/tracking's CLEAR-MOT and identity metrics. Truths less than half
// visible are ignored regions (mot_metrics.h). One JSON line per sequence
// and setting, then one line of totals per setting.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/analyze_file.h"
#include "client/commands.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "client/stream_session.h"
#include "client/synthetic_sequence.h"
#include "core/tracking/mot_metrics.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

// Truths at least this visible must be tracked; the others are ignored.
constexpr double kMinVisibility = 0.5;

// The photos of `folders` with the largest face the server finds in each.
absl::StatusOr<std::vector<PersonPhotos>> LoadPeople(v1::FaceService::Stub& stub,
                                                     const ConnectionOptions& connection,
                                                     const std::vector<IdentityFolder>& folders,
                                                     int max_photos) {
  v1::AnalyzeOptions detect;
  detect.set_detect_only(true);
  std::vector<PersonPhotos> people;
  for (const IdentityFolder& folder : folders) {
    PersonPhotos person;
    person.name = folder.identity;
    for (const std::string& path : folder.images) {
      if (static_cast<int>(person.photos.size()) >= max_photos) break;
      absl::StatusOr<v1::AnalyzeResponse> found = AnalyzeFile(stub, connection, path, detect);
      if (!found.ok()) return found.status();
      const v1::Face* largest = nullptr;
      for (const v1::Face& f : found->faces()) {
        if (largest == nullptr || f.box().x2() - f.box().x1() > largest->box().x2() - largest->box().x1()) {
          largest = &f;
        }
      }
      if (largest == nullptr || largest->truncated()) continue;
      absl::StatusOr<cv::Mat> rgb = ReadRgbFile(path);
      if (!rgb.ok()) return rgb.status();
      const v1::Box& b = largest->box();
      person.photos.push_back(FacePhoto{*std::move(rgb), Box{b.x1(), b.y1(), b.x2(), b.y2()}});
    }
    if (person.photos.size() >= 2) people.push_back(std::move(person));
  }
  return people;
}

Json MetricsToJson(const MotMetrics& m) {
  return Json{{"idf1", m.idf1},
              {"mota", m.mota},
              {"id_switches", m.id_switches},
              {"switches_per_1000", m.truths == 0 ? 0.0 : 1000.0 * m.id_switches / m.truths},
              {"truths", m.truths},
              {"matches", m.matches},
              {"misses", m.misses},
              {"false_positives", m.false_positives},
              {"idp", m.idp},
              {"idr", m.idr}};
}

}  // namespace

int RunEvalTrackCommand(const CommandContext& ctx, const ParsedArgs& args) {
  const std::string faces_dir = args.Get("faces");
  if (faces_dir.empty()) return ctx.UsageError("eval-track needs --faces DIR");
  const std::vector<std::string> background_paths = args.GetList("backgrounds");
  if (background_paths.empty()) return ctx.UsageError("eval-track needs --backgrounds IMG,...");
  auto sequences = args.GetInt("sequences", 20, 1, 1000);
  if (!sequences.ok()) return ctx.UsageError(sequences.status().message());
  auto first = args.GetInt("first", 0, 0, 1000000);
  if (!first.ok()) return ctx.UsageError(first.status().message());
  auto seed = args.GetInt("seed", 1, 0, int64_t{1} << 40);
  if (!seed.ok()) return ctx.UsageError(seed.status().message());
  auto max_people = args.GetInt("max-people", 0, 0, 100000);
  if (!max_people.ok()) return ctx.UsageError(max_people.status().message());
  auto max_photos = args.GetInt("max-photos", 4, 2, 1000);
  if (!max_photos.ok()) return ctx.UsageError(max_photos.status().message());
  auto lost_ttl = args.GetInt("lost-ttl-ms", 10000, 0, 60000);
  if (!lost_ttl.ok()) return ctx.UsageError(lost_ttl.status().message());
  std::vector<int> detect_every;
  for (const std::string& item : args.GetList("detect-every")) {
    int n = 0;
    if (!absl::SimpleAtoi(item, &n) || n < 1 || n > 30) {
      return ctx.UsageError("--detect-every takes numbers from 1 to 30");
    }
    detect_every.push_back(n);
  }
  if (detect_every.empty()) detect_every = {1, 3};
  const std::string dump_path = args.Get("dump");

  absl::StatusOr<std::vector<IdentityFolder>> folders = ListIdentityFolders(faces_dir);
  if (!folders.ok()) return ctx.Fail(folders.status());
  folders->erase(std::remove_if(folders->begin(), folders->end(),
                                [](const IdentityFolder& f) { return f.images.size() < 2; }),
                 folders->end());
  if (*max_people > 0 && static_cast<int64_t>(folders->size()) > *max_people) {
    folders->resize(static_cast<size_t>(*max_people));
  }
  std::vector<cv::Mat> backgrounds;
  for (const std::string& path : background_paths) {
    absl::StatusOr<cv::Mat> rgb = ReadRgbFile(path);
    if (!rgb.ok()) return ctx.Fail(rgb.status());
    backgrounds.push_back(*std::move(rgb));
  }
  auto stub = v1::FaceService::NewStub(MakeChannel(ctx.connection));
  absl::StatusOr<std::vector<PersonPhotos>> people =
      LoadPeople(*stub, ctx.connection, *folders, static_cast<int>(*max_photos));
  if (!people.ok()) return ctx.Fail(people.status());

  std::vector<std::vector<MotFrame>> all(detect_every.size());
  std::vector<double> seconds(detect_every.size(), 0);
  std::vector<int64_t> frames_streamed(detect_every.size(), 0);
  for (int64_t index = *first; index < *first + *sequences; ++index) {
    absl::StatusOr<SyntheticSequence> sequence =
        SyntheticSequence::Make(*people, backgrounds, static_cast<uint64_t>(*seed),
                                static_cast<int>(index));
    if (!sequence.ok()) return ctx.Fail(sequence.status());
    std::vector<SequenceFrame> rendered;
    rendered.reserve(SyntheticSequence::kFrames);
    for (int f = 0; f < SyntheticSequence::kFrames; ++f) rendered.push_back(sequence->Render(f));

    for (size_t setting = 0; setting < detect_every.size(); ++setting) {
      v1::StreamConfig config;
      for (const std::string& p : args.GetList("predictors")) {
        config.mutable_options()->add_predictors(p);
      }
      config.set_detect_every(detect_every[setting]);
      config.set_overflow(v1::OVERFLOW_BLOCK);
      config.set_lost_track_ttl_ms(static_cast<int32_t>(*lost_ttl));
      std::vector<MotFrame> frames(rendered.size());
      for (size_t f = 0; f < rendered.size(); ++f) {
        for (const SequenceTruth& t : rendered[f].truths) {
          if (t.visibility >= kMinVisibility) {
            frames[f].truths.push_back(TrackedBox{t.id, t.box});
          } else {
            frames[f].ignored.push_back(t.box);
          }
        }
      }
      size_t next = 0;
      const FrameSource next_frame = [&](v1::StreamFrame* frame) {
        if (next >= rendered.size()) return false;
        frame->mutable_image()->set_encoded(rendered[next].jpeg);
        frame->set_timestamp_us(
            static_cast<int64_t>(static_cast<double>(next) * 1e6 / SyntheticSequence::kFps));
        frame->set_sequence(static_cast<int64_t>(next));
        ++next;
        return true;
      };
      int64_t answered = 0;
      const ResponseSink on_response = [&](const v1::StreamResponse& response) {
        if (response.end_of_stream()) return true;  // no frame: the tracks' summaries
        const int64_t f = response.sequence();
        if (f < 0 || f >= static_cast<int64_t>(frames.size())) return false;
        ++answered;
        for (const v1::TrackedFace& t : response.faces()) {
          const v1::Box& b = t.face().box();
          frames[f].hypotheses.push_back(TrackedBox{t.track_id(), Box{b.x1(), b.y1(), b.x2(), b.y2()}});
        }
        return true;
      };
      const auto start = std::chrono::steady_clock::now();
      const absl::Status status = RunStream(*stub, config, next_frame, on_response);
      const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!status.ok()) return ctx.Fail(status);
      if (answered != static_cast<int64_t>(frames.size())) {
        return ctx.Fail(absl::InternalError(absl::StrCat("file mode answered ", answered, " of ",
                                                         frames.size(), " frames")));
      }
      const MotMetrics m = EvaluateMot(frames);
      if (!dump_path.empty()) {  // every frame's truths and answers, to look into
        std::ofstream dump(dump_path, std::ios::app);
        for (size_t f = 0; f < frames.size(); ++f) {
          Json line{{"sequence", index}, {"detect_every", detect_every[setting]}, {"frame", f}};
          Json truths = Json::array(), hyps = Json::array(), ignored = Json::array();
          for (const TrackedBox& t : frames[f].truths) truths.push_back({t.id, t.box.x1, t.box.y1, t.box.x2, t.box.y2});
          for (const TrackedBox& h : frames[f].hypotheses) hyps.push_back({h.id, h.box.x1, h.box.y1, h.box.x2, h.box.y2});
          for (const Box& b : frames[f].ignored) ignored.push_back({b.x1, b.y1, b.x2, b.y2});
          line["truths"] = std::move(truths);
          line["tracks"] = std::move(hyps);
          line["ignored"] = std::move(ignored);
          dump << ToJsonLine(line) << "\n";
        }
      }
      Json line = Json::object();
      line["sequence"] = index;
      line["detect_every"] = detect_every[setting];
      line["description"] = sequence->description();
      line.update(MetricsToJson(m));
      line["frames_per_s"] = static_cast<double>(answered) / took;
      *ctx.out << ToJsonLine(line) << std::endl;
      all[setting].insert(all[setting].end(), std::make_move_iterator(frames.begin()),
                          std::make_move_iterator(frames.end()));
      seconds[setting] += took;
      frames_streamed[setting] += answered;
    }
  }
  for (size_t setting = 0; setting < detect_every.size(); ++setting) {
    // Track ids restart with each stream: renumber them apart before pooling.
    // (Frames of sequence k hold ids of that sequence only, so an offset per
    // sequence keeps them distinct.)
    std::vector<MotFrame>& frames = all[setting];
    for (size_t f = 0; f < frames.size(); ++f) {
      const int64_t offset = static_cast<int64_t>(f / SyntheticSequence::kFrames) * 1000000;
      for (TrackedBox& t : frames[f].truths) t.id += offset;
      for (TrackedBox& h : frames[f].hypotheses) h.id += offset;
    }
    Json total = Json::object();
    total["total"] = true;
    total["sequences"] = *sequences;
    total["detect_every"] = detect_every[setting];
    total.update(MetricsToJson(EvaluateMot(frames)));
    total["frames_per_s"] = static_cast<double>(frames_streamed[setting]) / seconds[setting];
    *ctx.out << ToJsonLine(total) << std::endl;
  }
  return 0;
}

}  // namespace faceserve::client
