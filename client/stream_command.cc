// facectl stream VIDEO: the video decoded here (OpenCV videoio), its frames
// sent over one AnalyzeStream as JPEG (or a folder of JPEG frames, sent as
// they are), one JSON line per processed frame on
// stdout (json_output.h's StreamResponseToJson), then one line with the
// per-track summary. With --draw OUT.mp4 the video is written again with each
// track's box and id. File mode (OVERFLOW_BLOCK, as fast as the server goes)
// by default; --live sends at the video's frame rate with OVERFLOW_DROP_OLDEST.
// --identify names tracks from a gallery; --best-shots DIR keeps each
// track's best shot as a JPEG.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <thread>

#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "client/latency_stats.h"
#include "client/stream_session.h"
#include "client/video_file.h"
#include "core/utilizer/annotator.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

struct TrackSummary {
  int64_t first_frame = -1;
  int64_t last_frame = -1;
  int64_t frames = 0;           // frames it was reported in
  int64_t detected_frames = 0;  // of them, those where a detection matched it
  std::string identity;         // the subject, once the server decided
  Json ended;                   // the server's summary, when it ended the track
};

// A colour per track id, the same on every frame.
cv::Scalar TrackColor(int64_t id) {
  static const cv::Scalar kColors[] = {{0, 200, 255}, {255, 120, 0}, {60, 220, 60},
                                       {200, 60, 255}, {0, 80, 255},  {255, 220, 0}};
  return kColors[static_cast<size_t>(id) % (sizeof(kColors) / sizeof(kColors[0]))];
}

void DrawTracks(const v1::StreamResponse& response, cv::Mat* bgr) {
  for (const v1::TrackedFace& t : response.faces()) {
    const v1::Box& b = t.face().box();
    const cv::Scalar color = TrackColor(t.track_id());
    const bool predicted = !(response.detected() && t.face().detection_score() > 0);
    cv::rectangle(*bgr, cv::Point(static_cast<int>(b.x1()), static_cast<int>(b.y1())),
                  cv::Point(static_cast<int>(b.x2()), static_cast<int>(b.y2())), color,
                  predicted ? 1 : 2);
    cv::putText(*bgr, absl::StrCat("#", t.track_id()),
                cv::Point(static_cast<int>(b.x1()), std::max(12, static_cast<int>(b.y1()) - 4)),
                cv::FONT_HERSHEY_SIMPLEX, 0.6, color, 2);
  }
}

}  // namespace

int RunStreamCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.size() != 1) return ctx.UsageError("stream needs one VIDEO");
  const std::string path = args.positional[0];
  auto detect_every = args.GetInt("detect-every", 0, 0, 30);
  if (!detect_every.ok()) return ctx.UsageError(detect_every.status().message());
  auto max_frames = args.GetInt("max-frames", 0, 0, int64_t{1} << 40);
  if (!max_frames.ok()) return ctx.UsageError(max_frames.status().message());
  auto quality = args.GetInt("jpeg-quality", 90, 1, 100);
  if (!quality.ok()) return ctx.UsageError(quality.status().message());
  auto min_score = args.GetDouble("min-score", 0, 0, 1);
  if (!min_score.ok()) return ctx.UsageError(min_score.status().message());
  const std::string draw = args.Get("draw");
  if (args.Has("draw") && draw.empty()) return ctx.UsageError("--draw needs a file name");
  const bool live = args.Has("live");
  const bool embeddings = args.Has("embeddings");
  const bool quiet = args.Has("summary-only");

  // VIDEO is a video file, or a folder of JPEG frames sent as they are
  // (frame_NNNNN.jpg in name order, as make-clip --frames writes them).
  std::vector<std::string> frame_files;
  std::unique_ptr<VideoFileReader> video;
  std::error_code ec;
  double fps = 25;
  if (std::filesystem::is_directory(path, ec)) {
    if (!draw.empty()) return ctx.UsageError("--draw needs a video file, not a folder of frames");
    auto rate = args.GetDouble("fps", 25, 1, 1000);
    if (!rate.ok()) return ctx.UsageError(rate.status().message());
    fps = *rate;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().string();
      if (name.size() > 4 && (name.substr(name.size() - 4) == ".jpg")) frame_files.push_back(name);
    }
    std::sort(frame_files.begin(), frame_files.end());
    if (frame_files.empty()) {
      return ctx.Fail(absl::NotFoundError(path + ": no .jpg frames in this folder"));
    }
  } else {
    absl::StatusOr<std::unique_ptr<VideoFileReader>> opened = VideoFileReader::Open(path);
    if (!opened.ok()) return ctx.Fail(opened.status());
    video = *std::move(opened);
    fps = video->fps();
  }
  int64_t total = video != nullptr ? video->frame_count() : static_cast<int64_t>(frame_files.size());
  if (*max_frames > 0 && (total == 0 || total > *max_frames)) total = *max_frames;
  // The next frame as JPEG bytes; false at the end.
  size_t next_file = 0;
  const auto read_frame = [&](absl::StatusOr<std::string>* jpeg) {
    if (video == nullptr) {
      if (next_file >= frame_files.size()) return false;
      *jpeg = ReadFileBytes(frame_files[next_file++]);
      return true;
    }
    cv::Mat bgr, rgb;
    if (!video->Read(&bgr)) return false;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    *jpeg = EncodeJpeg(rgb, static_cast<int>(*quality));
    return true;
  };

  // --draw decodes the video a second time, in step with the responses.
  std::unique_ptr<VideoFileReader> draw_reader;
  std::unique_ptr<VideoFileWriter> draw_writer;
  int64_t drawn = 0;
  if (!draw.empty()) {
    auto reader = VideoFileReader::Open(path);
    if (!reader.ok()) return ctx.Fail(reader.status());
    draw_reader = *std::move(reader);
  }

  v1::StreamConfig config;
  for (const std::string& p : args.GetList("predictors")) config.mutable_options()->add_predictors(p);
  config.mutable_options()->set_min_detection_score(static_cast<float>(*min_score));
  config.mutable_options()->set_return_embeddings(embeddings);
  config.set_detect_every(static_cast<int32_t>(*detect_every));
  config.set_overflow(live ? v1::OVERFLOW_DROP_OLDEST : v1::OVERFLOW_BLOCK);
  if (args.Has("identify")) {
    if (args.Get("identify").empty()) return ctx.UsageError("--identify needs a gallery");
    config.mutable_options()->mutable_identify()->set_gallery(args.Get("identify"));
  }
  const std::string best_shots = args.Get("best-shots");
  if (args.Has("best-shots")) {
    if (best_shots.empty()) return ctx.UsageError("--best-shots needs a folder");
    std::error_code ec;
    std::filesystem::create_directories(best_shots, ec);
    if (ec) return ctx.Fail(absl::InvalidArgumentError(absl::StrCat("--best-shots ", best_shots, ": ", ec.message())));
    config.set_return_best_shots(true);
  }
  auto max_queued = args.GetInt("max-queued", 0, 0, 16);
  if (!max_queued.ok()) return ctx.UsageError(max_queued.status().message());
  config.set_max_queued_frames(static_cast<int32_t>(*max_queued));
  auto smoothing_ms = args.GetInt("smoothing-ms", 0, 0, 60000);
  if (!smoothing_ms.ok()) return ctx.UsageError(smoothing_ms.status().message());
  config.set_smoothing_ms(static_cast<int32_t>(*smoothing_ms));

  // --preload: every frame decoded and encoded before the stream starts, so
  // that sending costs the client nothing (many streams from one machine).
  std::vector<std::string> preloaded;
  if (args.Has("preload")) {
    for (absl::StatusOr<std::string> jpeg;
         (*max_frames == 0 || static_cast<int64_t>(preloaded.size()) < *max_frames) &&
         read_frame(&jpeg);) {
      if (!jpeg.ok()) return ctx.Fail(jpeg.status());
      preloaded.push_back(*std::move(jpeg));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  int64_t sent = 0;
  // When each frame in flight was sent: its answer's latency, seen here.
  std::mutex sent_mu;
  std::unordered_map<int64_t, std::chrono::steady_clock::time_point> sent_at;
  absl::Status frame_error;
  const FrameSource next_frame = [&](v1::StreamFrame* frame) {
    if (*max_frames > 0 && sent >= *max_frames) return false;
    absl::StatusOr<std::string> jpeg;
    if (args.Has("preload")) {
      if (sent >= static_cast<int64_t>(preloaded.size())) return false;
      jpeg = std::move(preloaded[sent]);
    } else if (!read_frame(&jpeg)) {
      return false;
    }
    if (!jpeg.ok()) {
      frame_error = jpeg.status();
      return false;
    }
    const int64_t timestamp_us = static_cast<int64_t>(static_cast<double>(sent) * 1e6 / fps);
    if (live) {  // at the video's pace
      std::this_thread::sleep_until(start + std::chrono::microseconds(timestamp_us));
    }
    frame->mutable_image()->set_encoded(*std::move(jpeg));
    frame->set_timestamp_us(timestamp_us);
    {
      std::lock_guard<std::mutex> lock(sent_mu);
      sent_at[sent] = std::chrono::steady_clock::now();
    }
    frame->set_sequence(sent++);
    return true;
  };

  std::map<int64_t, TrackSummary> tracks;
  int64_t processed = 0, detected = 0, skipped = 0;
  auto last_progress = start;
  absl::Status draw_error;
  std::vector<double> latencies_ms;
  absl::Status best_shot_error;
  // What the server says about tracks: identities, and the summaries of
  // those it ended (best shots written out).
  auto note_events = [&](const v1::StreamResponse& response) {
    for (const v1::TrackEvent& e : response.events()) {
      TrackSummary& s = tracks[e.track_id()];
      if (e.kind() == v1::TRACK_IDENTIFIED) s.identity = e.identity().subject();
      if (e.kind() != v1::TRACK_ENDED) continue;
      s.ended = TrackSummaryToJson(e.summary());
      if (e.summary().has_identity()) s.identity = e.summary().identity().subject();
      const std::string& crop = e.summary().best_shot().crop_jpeg();
      if (!best_shots.empty() && !crop.empty()) {
        const std::string file =
            (std::filesystem::path(best_shots) / absl::StrCat("track_", e.track_id(), ".jpg")).string();
        best_shot_error.Update(WriteFileBytes(file, crop));
        s.ended["best_shot"]["file"] = file;
      }
    }
  };
  const ResponseSink on_response = [&](const v1::StreamResponse& response) {
    note_events(response);
    if (response.end_of_stream()) {  // not a frame: the tracks' last word
      if (!quiet) *ctx.out << ToJsonLine(StreamResponseToJson(response, embeddings)) << "\n";
      return true;
    }
    {
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> lock(sent_mu);
      auto it = sent_at.find(response.sequence());
      if (it != sent_at.end()) {
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
        sent_at.erase(it);
      }
      for (int64_t s : response.skipped_sequences()) sent_at.erase(s);
    }
    ++processed;
    if (response.detected()) ++detected;
    skipped += response.skipped_sequences_size();
    for (const v1::TrackedFace& t : response.faces()) {
      TrackSummary& s = tracks[t.track_id()];
      if (s.first_frame < 0) s.first_frame = response.sequence();
      s.last_frame = response.sequence();
      ++s.frames;
      if (response.detected() && t.face().detection_score() > 0) ++s.detected_frames;
    }
    if (!quiet) *ctx.out << ToJsonLine(StreamResponseToJson(response, embeddings)) << "\n";
    if (draw_reader != nullptr && draw_error.ok()) {
      cv::Mat bgr;
      while (drawn <= response.sequence() && draw_reader->Read(&bgr)) {
        if (draw_writer == nullptr) {
          auto writer = VideoFileWriter::Open(draw, fps, bgr.cols, bgr.rows);
          if (!writer.ok()) {
            draw_error = writer.status();
            break;
          }
          draw_writer = *std::move(writer);
        }
        if (drawn == response.sequence()) DrawTracks(response, &bgr);
        draw_error.Update(draw_writer->Write(bgr));
        ++drawn;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (ctx.err_is_tty && now - last_progress > std::chrono::milliseconds(200)) {
      last_progress = now;
      const double seconds = std::chrono::duration<double>(now - start).count();
      *ctx.err << absl::StrFormat("\rstream: frame %d%s  %.1f frames/s  %d tracks  ", processed,
                                  total > 0 ? absl::StrCat("/", total) : "",
                                  static_cast<double>(processed) / seconds, tracks.size())
               << std::flush;
    }
    return true;
  };

  auto stub = v1::FaceService::NewStub(MakeChannel(ctx.connection));
  const absl::Status status = RunStream(*stub, config, next_frame, on_response);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (ctx.err_is_tty) *ctx.err << "\n";
  // The frames after the last processed one, undrawn.
  if (draw_writer != nullptr && draw_error.ok()) {
    cv::Mat bgr;
    while (drawn < sent && draw_reader->Read(&bgr)) {
      draw_error.Update(draw_writer->Write(bgr));
      ++drawn;
    }
  }

  Json summary_tracks = Json::array();
  for (const auto& [id, s] : tracks) {
    Json t{{"track_id", id},
           {"first_frame", s.first_frame},
           {"last_frame", s.last_frame},
           {"frames", s.frames},
           {"detected_frames", s.detected_frames}};
    if (!s.identity.empty()) t["identity"] = s.identity;
    if (s.ended.contains("best_shot")) t["best_shot"] = s.ended["best_shot"];
    if (s.ended.contains("smoothed")) t["smoothed"] = s.ended["smoothed"];
    summary_tracks.push_back(std::move(t));
  }
  Json summary = Json::object();
  summary["video"] = path;
  summary["frames_sent"] = sent;
  summary["frames_processed"] = processed;
  summary["frames_detected"] = detected;
  summary["frames_skipped"] = skipped;
  summary["wall_s"] = wall_s;
  summary["frames_per_s"] = wall_s > 0 ? static_cast<double>(processed) / wall_s : 0.0;
  // From a frame's send to its answer, as this client saw it.
  const LatencySummary latency = Summarize(std::move(latencies_ms));
  summary["latency_ms"] = Json{{"p50", latency.p50}, {"p99", latency.p99}, {"max", latency.max}};
  summary["tracks"] = std::move(summary_tracks);
  if (draw_writer != nullptr && draw_error.ok()) summary["drawn"] = draw;
  *ctx.out << ToJsonLine(Json{{"summary", std::move(summary)}}) << std::endl;

  if (!frame_error.ok()) return ctx.Fail(frame_error);
  if (!status.ok()) return ctx.Fail(status);
  if (!draw_error.ok()) return ctx.Fail(draw_error);
  if (!best_shot_error.ok()) return ctx.Fail(best_shot_error);
  return 0;
}

}  // namespace faceserve::client
