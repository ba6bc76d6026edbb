// Every request field's bad values, with the exact status code expected,
// through the real gRPC service on loopback.
//
// Each row starts from a valid request and spoils one field. Every row runs
// against a FaceServer in front of the real FacePipeline with fake models
// (tests/testing/fake_models.h), so the reader's and the pipeline's own
// checks answer too; rows the service itself must reject (proto_convert)
// also run against the FakePipeline, which must then see no call at all.
// Rows whose expected code is OK are the controls: they prove that the base
// request is valid, so that each failing row fails for its one spoiled field.
#include <climits>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/face_server.h"
#include "tests/server/test_harness.h"
#include "tests/testing/fake_models.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;
using testing::ContextWithTimeout;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Limits small enough to cross with small messages.
constexpr int64_t kMaxBytes = 256 * 1024;
constexpr int64_t kMaxPixels = 512 * 512;

Config LimitedConfig(Config config) {
  config.server.listen = "127.0.0.1:0";
  config.metrics.listen = "";
  config.reader.max_bytes = kMaxBytes;
  config.reader.max_pixels = kMaxPixels;
  return config;
}

std::string Png(int width, int height) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(30, 120, 200));
  std::vector<uchar> bytes;
  cv::imencode(".png", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

std::string Jpeg(int width, int height) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(30, 120, 200));
  std::vector<uchar> bytes;
  cv::imencode(".jpg", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

// A PNG signature and IHDR chunk claiming `width` x `height`, no image data.
std::string PngHeaderOnly(uint32_t width, uint32_t height) {
  std::string b("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (uint32_t v : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<char>(v >> shift));
  }
  b.append("\x08\x02\0\0\0\0\0\0\0", 9);  // depth 8, RGB, CRC (wrong, never checked here)
  return b;
}

v1::RawImage Raw(int width, int height, v1::ChannelOrder order, int bytes_per_pixel) {
  v1::RawImage raw;
  raw.set_width_px(width);
  raw.set_height_px(height);
  raw.set_channel_order(order);
  raw.set_pixels(std::string(static_cast<size_t>(width) * height * bytes_per_pixel, '\x40'));
  return raw;
}

// One request of each kind; a row spoils the one its `rpc` names.
struct Requests {
  v1::AnalyzeRequest analyze;
  v1::EmbedRequest embed;
  v1::VerifyRequest verify;
};

Requests ValidRequests() {
  Requests r;
  r.analyze.mutable_image()->set_encoded(Png(64, 64));
  r.embed.mutable_image()->set_encoded(Png(64, 64));
  *r.verify.mutable_a()->mutable_image() = r.embed.image();
  for (float v : {0.1f, 0.2f, 0.3f, 0.9f}) {
    r.verify.mutable_b()->mutable_embedding()->add_values(v);
  }
  return r;
}

enum class Rpc { kAnalyze, kEmbed, kVerify };

// Who rejects the row: the service (proto_convert, before the pipeline is
// called) or the pipeline (the reader, predictor lookup, embedding size).
enum class By { kService, kPipeline, kNobody };

struct Case {
  std::string name;
  Rpc rpc;
  std::function<void(Requests*)> spoil;
  grpc::StatusCode code;
  std::string message;  // a substring of the status message ("" to skip)
  By by;
};

// gtest prints a row by its name (not its bytes) in test names and failures.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

v1::RawImage* AnalyzeRaw(Requests* r) { return r->analyze.mutable_image()->mutable_raw(); }

std::vector<Case> Cases() {
  using C = grpc::StatusCode;
  const C kOk = C::OK, kInvalid = C::INVALID_ARGUMENT, kExhausted = C::RESOURCE_EXHAUSTED;
  const Rpc A = Rpc::kAnalyze, E = Rpc::kEmbed, V = Rpc::kVerify;
  const By kService = By::kService, kPipeline = By::kPipeline, kNobody = By::kNobody;
  std::vector<Case> cases = {
      // --- controls ---------------------------------------------------------
      {"AnalyzeValidPng", A, [](Requests*) {}, kOk, "", kNobody},
      {"EmbedValidPng", E, [](Requests*) {}, kOk, "", kNobody},
      {"VerifyValidImageAndEmbedding", V, [](Requests*) {}, kOk, "", kNobody},
      {"AnalyzeValidJpeg", A, [](Requests* r) { r->analyze.mutable_image()->set_encoded(Jpeg(64, 48)); },
       kOk, "", kNobody},
      {"AnalyzeRawRgbTight", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(32, 16, v1::CHANNEL_ORDER_RGB, 3); }, kOk, "", kNobody},
      {"AnalyzeRawGrayWithStrideAndSpareBytes", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(32, 16, v1::CHANNEL_ORDER_GRAY, 1);
         AnalyzeRaw(r)->set_stride_bytes(40);
         AnalyzeRaw(r)->set_pixels(std::string(40 * 16 + 7, '\x10'));
       },
       kOk, "", kNobody},
      {"AnalyzeRawAtThePixelLimit", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(512, 512, v1::CHANNEL_ORDER_GRAY, 1); }, kOk, "",
       kNobody},
      {"AnalyzeMinScoreOne", A, [](Requests* r) { r->analyze.mutable_options()->set_min_detection_score(1.0f); },
       kOk, "", kNobody},
      {"AnalyzeMaxFacesHuge", A, [](Requests* r) { r->analyze.mutable_options()->set_max_faces(INT_MAX); },
       kOk, "", kNobody},
      {"AnalyzeDuplicatePredictors", A,
       [](Requests* r) {
         for (int i = 0; i < 3; ++i) r->analyze.mutable_options()->add_predictors("expression");
       },
       kOk, "", kNobody},
      {"VerifyThresholdMinusOne", V, [](Requests* r) { r->verify.set_threshold(-1.0f); }, kOk, "", kNobody},
      {"VerifyThresholdOne", V, [](Requests* r) { r->verify.set_threshold(1.0f); }, kOk, "", kNobody},
      {"AnalyzeOnePixelWithEveryOutput", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(1, 1, v1::CHANNEL_ORDER_RGB, 3);
         v1::AnalyzeOptions* o = r->analyze.mutable_options();
         o->set_return_embeddings(true);
         o->set_return_annotated_image(true);
         o->set_return_face_crops(true);
       },
       kOk, "", kNobody},
      {"AnalyzeOneRowWithEveryOutput", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(512, 1, v1::CHANNEL_ORDER_GRAY, 1);
         r->analyze.mutable_options()->set_return_annotated_image(true);
         r->analyze.mutable_options()->set_return_face_crops(true);
       },
       kOk, "", kNobody},
      {"EmbedWholeImageOnePixel", E,
       [](Requests* r) {
         *r->embed.mutable_image()->mutable_raw() = Raw(1, 1, v1::CHANNEL_ORDER_BGRA, 4);
         r->embed.set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
       },
       kOk, "", kNobody},
      {"VerifyOneColumnWholeImage", V,
       [](Requests* r) {
         *r->verify.mutable_a()->mutable_image()->mutable_raw() = Raw(1, 300, v1::CHANNEL_ORDER_GRAY, 1);
         r->verify.mutable_a()->set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
       },
       kOk, "", kNobody},
      {"VerifyHugeFiniteEmbedding", V,
       [](Requests* r) {
         for (float& v : *r->verify.mutable_b()->mutable_embedding()->mutable_values()) v = 3e38f;
       },
       kOk, "", kNobody},

      // --- image: missing, empty, wrong kind ---------------------------------
      {"AnalyzeImageNotSet", A, [](Requests* r) { r->analyze.clear_image(); }, kInvalid,
       "image: not set", kService},
      {"AnalyzeEncodedEmpty", A, [](Requests* r) { r->analyze.mutable_image()->set_encoded(""); },
       kInvalid, "image.encoded: empty", kService},
      {"AnalyzeEncodedText", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded("this is not an image"); },
       kInvalid, "unknown image format", kPipeline},
      {"AnalyzeEncodedGif", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(std::string("GIF89a\x01\0\x01\0\0\0\0;", 14)); },
       kInvalid, "unknown image format", kPipeline},
      {"AnalyzeEncodedTiff", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(std::string("II*\0\x08\0\0\0\0\0", 10)); },
       kInvalid, "unknown image format", kPipeline},
      {"AnalyzeEncodedPdf", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"); },
       kInvalid, "unknown image format", kPipeline},
      {"AnalyzeEncodedUrlIsNotFetched", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded("http://127.0.0.1:1/face.jpg"); },
       kInvalid, "unknown image format", kPipeline},
      {"AnalyzeEncodedPathIsNotRead", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded("/etc/passwd"); }, kInvalid,
       "unknown image format", kPipeline},
      {"AnalyzeTruncatedJpeg", A,
       [](Requests* r) {
         const std::string jpeg = Jpeg(64, 64);
         r->analyze.mutable_image()->set_encoded(jpeg.substr(0, jpeg.size() * 2 / 3));
       },
       kInvalid, "JPEG", kPipeline},
      {"AnalyzeJpegHeaderOnly", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(std::string("\xff\xd8\xff", 3)); },
       kInvalid, "malformed JPEG header", kPipeline},
      {"AnalyzeTruncatedPng", A,
       [](Requests* r) {
         const std::string png = Png(64, 64);
         r->analyze.mutable_image()->set_encoded(png.substr(0, png.size() / 2));
       },
       kInvalid, "PNG", kPipeline},
      {"AnalyzePngWithZeroWidth", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(PngHeaderOnly(0, 10)); }, kInvalid,
       "invalid size", kPipeline},
      {"AnalyzePngWithNegativeWidth", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(PngHeaderOnly(0x80000000u, 10)); },
       kInvalid, "out of range", kPipeline},
      {"AnalyzeBmpHeaderOnly", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded("BM"); }, kInvalid,
       "malformed BMP header", kPipeline},
      {"AnalyzeWebpHeaderOnly", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(std::string("RIFF\0\0\0\0WEBP", 12)); },
       kInvalid, "malformed WebP header", kPipeline},

      // --- image: limits ------------------------------------------------------
      {"AnalyzeEncodedOverMaxBytes", A,
       [](Requests* r) {
         std::string png = Png(64, 64);
         png.resize(kMaxBytes + 1, '\0');
         r->analyze.mutable_image()->set_encoded(png);
       },
       kExhausted, "over the limit of 262144 bytes", kPipeline},
      {"AnalyzePngHeaderOverMaxPixels", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(PngHeaderOnly(513, 512)); },
       kExhausted, "over the limit of 262144 pixels", kPipeline},
      {"AnalyzePngHeaderHugeDimensions", A,
       [](Requests* r) { r->analyze.mutable_image()->set_encoded(PngHeaderOnly(0x7fffffff, 0x7fffffff)); },
       kExhausted, "pixels", kPipeline},
      {"AnalyzeRawOverMaxPixels", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(513, 512, v1::CHANNEL_ORDER_GRAY, 1); }, kExhausted,
       "over the limit of 262144 pixels", kPipeline},
      {"AnalyzeRawOverMaxBytes", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3);
         AnalyzeRaw(r)->set_pixels(std::string(kMaxBytes + 1, '\0'));
       },
       kExhausted, "over the limit of 262144 bytes", kPipeline},
      {"AnalyzeRawHugeDimensionsNoPixels", A,
       [](Requests* r) {
         v1::RawImage* raw = AnalyzeRaw(r);
         raw->set_width_px(INT_MAX);
         raw->set_height_px(INT_MAX);
         raw->set_channel_order(v1::CHANNEL_ORDER_RGBA);
       },
       kExhausted, "pixels", kPipeline},

      // --- raw image: geometry ------------------------------------------------
      {"AnalyzeRawZeroWidth", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3); AnalyzeRaw(r)->set_width_px(0); },
       kInvalid, "not positive", kPipeline},
      {"AnalyzeRawNegativeWidth", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3); AnalyzeRaw(r)->set_width_px(-16); },
       kInvalid, "not positive", kPipeline},
      {"AnalyzeRawNegativeHeight", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3); AnalyzeRaw(r)->set_height_px(INT_MIN); },
       kInvalid, "not positive", kPipeline},
      {"AnalyzeRawEmptyPixels", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3); AnalyzeRaw(r)->clear_pixels(); },
       kInvalid, "needs at least 768 bytes, got 0", kPipeline},
      {"AnalyzeRawOneByteShort", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3);
         AnalyzeRaw(r)->set_pixels(std::string(16 * 16 * 3 - 1, '\0'));
       },
       kInvalid, "needs at least 768 bytes, got 767", kPipeline},
      {"AnalyzeRawSizedForGrayButSaysRgba", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_GRAY, 1);
         AnalyzeRaw(r)->set_channel_order(v1::CHANNEL_ORDER_RGBA);
       },
       kInvalid, "needs at least 1024 bytes, got 256", kPipeline},
      {"AnalyzeRawStrideShorterThanARow", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3); AnalyzeRaw(r)->set_stride_bytes(47); },
       kInvalid, "stride 47 bytes is less than width * 3 = 48", kPipeline},
      {"AnalyzeRawNegativeStride", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3); AnalyzeRaw(r)->set_stride_bytes(-48); },
       kInvalid, "stride", kPipeline},
      {"AnalyzeRawHugeStride", A,
       [](Requests* r) { *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3); AnalyzeRaw(r)->set_stride_bytes(INT_MAX); },
       kInvalid, "needs at least", kPipeline},
      {"AnalyzeRawChannelOrderUnspecified", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3);
         AnalyzeRaw(r)->set_channel_order(v1::CHANNEL_ORDER_UNSPECIFIED);
       },
       kInvalid, "channel order is not specified", kPipeline},
      {"AnalyzeRawChannelOrderUnknown", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3);
         AnalyzeRaw(r)->set_channel_order(static_cast<v1::ChannelOrder>(99));
       },
       kInvalid, "image.raw.channel_order: unknown ChannelOrder value 99", kService},
      {"AnalyzeRawChannelOrderNegative", A,
       [](Requests* r) {
         *AnalyzeRaw(r) = Raw(16, 16, v1::CHANNEL_ORDER_RGB, 3);
         AnalyzeRaw(r)->set_channel_order(static_cast<v1::ChannelOrder>(-1));
       },
       kInvalid, "unknown ChannelOrder value -1", kService},

      // --- AnalyzeOptions -----------------------------------------------------
      {"AnalyzeMinScoreNegative", A,
       [](Requests* r) { r->analyze.mutable_options()->set_min_detection_score(-0.1f); }, kInvalid,
       "options.min_detection_score", kService},
      {"AnalyzeMinScoreAboveOne", A,
       [](Requests* r) { r->analyze.mutable_options()->set_min_detection_score(1.5f); }, kInvalid,
       "options.min_detection_score", kService},
      {"AnalyzeMinScoreNaN", A,
       [](Requests* r) { r->analyze.mutable_options()->set_min_detection_score(kNaN); }, kInvalid,
       "options.min_detection_score", kService},
      {"AnalyzeMinScoreInfinite", A,
       [](Requests* r) { r->analyze.mutable_options()->set_min_detection_score(kInf); }, kInvalid,
       "options.min_detection_score", kService},
      {"AnalyzeMinScoreMinusInfinite", A,
       [](Requests* r) { r->analyze.mutable_options()->set_min_detection_score(-kInf); }, kInvalid,
       "options.min_detection_score", kService},
      {"AnalyzeMaxFacesNegative", A,
       [](Requests* r) { r->analyze.mutable_options()->set_max_faces(-1); }, kInvalid,
       "options.max_faces: must be >= 0", kService},
      {"AnalyzeMaxFacesMostNegative", A,
       [](Requests* r) { r->analyze.mutable_options()->set_max_faces(INT_MIN); }, kInvalid,
       "options.max_faces", kService},
      {"AnalyzeUnknownPredictor", A,
       [](Requests* r) { r->analyze.mutable_options()->add_predictors("nope"); }, kInvalid,
       "unknown predictor 'nope'", kPipeline},
      {"AnalyzeEmptyPredictorName", A,
       [](Requests* r) { r->analyze.mutable_options()->add_predictors(""); }, kInvalid,
       "unknown predictor ''", kPipeline},
      {"AnalyzeHugePredictorName", A,
       [](Requests* r) { r->analyze.mutable_options()->add_predictors(std::string(100000, 'p')); },
       kInvalid, "... (100000 bytes)", kPipeline},
      {"AnalyzeTooManyPredictors", A,
       [](Requests* r) {
         for (int i = 0; i < 65; ++i) r->analyze.mutable_options()->add_predictors("expression");
       },
       kInvalid, "options.predictors: 65 names, more than the limit of 64", kService},
      {"AnalyzeDetectOnlyWithPredictors", A,
       [](Requests* r) {
         r->analyze.mutable_options()->set_detect_only(true);
         r->analyze.mutable_options()->add_predictors("expression");
       },
       kInvalid, "options.detect_only: runs no predictor", kService},
      {"AnalyzeTooManyUnknownPredictors", A,
       [](Requests* r) {
         for (int i = 0; i < 100000; ++i) r->analyze.mutable_options()->add_predictors("x");
       },
       kInvalid, "options.predictors", kService},

      // --- Embed ----------------------------------------------------------------
      {"EmbedImageNotSet", E, [](Requests* r) { r->embed.clear_image(); }, kInvalid,
       "image: not set", kService},
      {"EmbedSelectionUnknown", E,
       [](Requests* r) { r->embed.set_selection(static_cast<v1::FaceSelection>(4)); }, kInvalid,
       "selection: unknown FaceSelection value 4", kService},
      {"EmbedSelectionNegative", E,
       [](Requests* r) { r->embed.set_selection(static_cast<v1::FaceSelection>(INT_MIN)); }, kInvalid,
       "selection: unknown FaceSelection value", kService},
      {"EmbedUnknownPredictor", E, [](Requests* r) { r->embed.set_predictor("nope"); }, kInvalid,
       "unknown predictor 'nope'", kPipeline},
      {"EmbedHugePredictorName", E, [](Requests* r) { r->embed.set_predictor(std::string(50000, 'q')); },
       kInvalid, "(50000 bytes)", kPipeline},
      {"EmbedPredictorWithoutEmbeddingHead", E,
       [](Requests* r) { r->embed.set_predictor("expression"); }, kInvalid,
       "has no embedding head", kPipeline},
      {"EmbedWholeImageGarbage", E,
       [](Requests* r) {
         r->embed.set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
         r->embed.mutable_image()->set_encoded("garbage");
       },
       kInvalid, "unknown image format", kPipeline},
      {"EmbedRawMismatchedSize", E,
       [](Requests* r) {
         *r->embed.mutable_image()->mutable_raw() = Raw(16, 16, v1::CHANNEL_ORDER_BGR, 3);
         r->embed.mutable_image()->mutable_raw()->set_height_px(17);
       },
       kInvalid, "needs at least 816 bytes, got 768", kPipeline},

      // --- Verify ---------------------------------------------------------------
      {"VerifyANotSet", V, [](Requests* r) { r->verify.clear_a(); }, kInvalid,
       "a: not set (set a.image or a.embedding)", kService},
      {"VerifyBNotSet", V, [](Requests* r) { r->verify.clear_b(); }, kInvalid, "b: not set",
       kService},
      {"VerifyOnlySelectionSet", V,
       [](Requests* r) {
         r->verify.clear_a();
         r->verify.mutable_a()->set_selection(v1::FACE_SELECTION_LARGEST);
       },
       kInvalid, "a: not set", kService},
      {"VerifyImageEmpty", V, [](Requests* r) { r->verify.mutable_a()->mutable_image()->set_encoded(""); },
       kInvalid, "a.image.encoded: empty", kService},
      {"VerifyImageNotSetInsideA", V,
       [](Requests* r) { r->verify.mutable_a()->mutable_image()->Clear(); }, kInvalid,
       "a.image: not set", kService},
      {"VerifySelectionAll", V,
       [](Requests* r) { r->verify.mutable_a()->set_selection(v1::FACE_SELECTION_ALL); }, kInvalid,
       "a.selection: FACE_SELECTION_ALL is not valid", kService},
      {"VerifySelectionUnknown", V,
       [](Requests* r) { r->verify.mutable_a()->set_selection(static_cast<v1::FaceSelection>(42)); },
       kInvalid, "a.selection: unknown FaceSelection value 42", kService},
      {"VerifyImageGarbage", V,
       [](Requests* r) { r->verify.mutable_a()->mutable_image()->set_encoded("\x89PNG"); }, kInvalid,
       "PNG", kPipeline},
      {"VerifyRawChannelOrderUnknown", V,
       [](Requests* r) {
         *r->verify.mutable_a()->mutable_image()->mutable_raw() = Raw(8, 8, v1::CHANNEL_ORDER_RGB, 3);
         r->verify.mutable_a()->mutable_image()->mutable_raw()->set_channel_order(
             static_cast<v1::ChannelOrder>(6));
       },
       kInvalid, "a.image.raw.channel_order: unknown ChannelOrder value 6", kService},
      {"VerifyEmbeddingNaN", V,
       [](Requests* r) { r->verify.mutable_b()->mutable_embedding()->set_values(2, kNaN); }, kInvalid,
       "b.embedding.values[2]: not a finite number", kService},
      {"VerifyEmbeddingInfinite", V,
       [](Requests* r) { r->verify.mutable_b()->mutable_embedding()->set_values(0, -kInf); }, kInvalid,
       "b.embedding.values[0]: not a finite number", kService},
      {"VerifyEmbeddingEmpty", V,
       [](Requests* r) { r->verify.mutable_b()->mutable_embedding()->clear_values(); }, kInvalid,
       "embedding b has 0 values; model 'fake_embedder' makes 4", kPipeline},
      {"VerifyEmbeddingTooShort", V,
       [](Requests* r) { r->verify.mutable_b()->mutable_embedding()->mutable_values()->RemoveLast(); },
       kInvalid, "embedding b has 3 values", kPipeline},
      {"VerifyEmbeddingTooLong", V,
       [](Requests* r) {
         for (int i = 0; i < 100000; ++i) r->verify.mutable_b()->mutable_embedding()->add_values(0.5f);
       },
       kInvalid, "embedding b has 100004 values", kPipeline},
      {"VerifyEmbeddingAllZero", V,
       [](Requests* r) {
         for (float& v : *r->verify.mutable_b()->mutable_embedding()->mutable_values()) v = 0;
       },
       kInvalid, "b.embedding: all values are zero", kService},
      {"VerifyThresholdNaN", V, [](Requests* r) { r->verify.set_threshold(kNaN); }, kInvalid,
       "threshold: must be a cosine similarity in [-1, 1]", kService},
      {"VerifyThresholdAboveOne", V, [](Requests* r) { r->verify.set_threshold(1.0001f); }, kInvalid,
       "threshold", kService},
      {"VerifyThresholdBelowMinusOne", V, [](Requests* r) { r->verify.set_threshold(-1.5f); },
       kInvalid, "threshold", kService},
      {"VerifyThresholdInfinite", V, [](Requests* r) { r->verify.set_threshold(kInf); }, kInvalid,
       "threshold", kService},
      {"VerifyUnknownPredictor", V, [](Requests* r) { r->verify.set_predictor("nope"); }, kInvalid,
       "unknown predictor 'nope'", kPipeline},
      {"VerifyPredictorWithoutEmbeddingHead", V,
       [](Requests* r) { r->verify.set_predictor("landmarks"); }, kInvalid,
       "has no embedding head", kPipeline},
  };
  return cases;
}

// One server per backend for the whole suite; every row is a fresh call.
class RequestValidationTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    models_ = new testing::FakeModels();
    models_->config = LimitedConfig(models_->config);
    auto pipeline = models_->CreatePipeline();
    ASSERT_TRUE(pipeline.ok()) << pipeline.status();
    real_pipeline_ = pipeline->release();
    auto server = FaceServer::Start(models_->config, real_pipeline_, nullptr);
    ASSERT_TRUE(server.ok()) << server.status();
    real_server_ = server->release();
    real_stub_ = v1::FaceService::NewStub(
                     grpc::CreateChannel(absl::StrCat("127.0.0.1:", real_server_->port()),
                                         grpc::InsecureChannelCredentials()))
                     .release();
    fake_ = new testing::Harness(LimitedConfig(testing::TestConfig()));
  }
  static void TearDownTestSuite() {
    delete fake_;
    delete real_stub_;
    delete real_server_;
    if (real_pipeline_ != nullptr) real_pipeline_->Shutdown();
    delete real_pipeline_;
    delete models_;
  }

  static grpc::Status Call(v1::FaceService::Stub* stub, const Case& c, const Requests& r) {
    // A generous deadline: rows are checked for their code, not speed.
    auto ctx = ContextWithTimeout(absl::Seconds(30));
    switch (c.rpc) {
      case Rpc::kAnalyze: {
        v1::AnalyzeResponse response;
        return stub->Analyze(ctx.get(), r.analyze, &response);
      }
      case Rpc::kEmbed: {
        v1::EmbedResponse response;
        return stub->Embed(ctx.get(), r.embed, &response);
      }
      case Rpc::kVerify: {
        v1::VerifyResponse response;
        return stub->Verify(ctx.get(), r.verify, &response);
      }
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "unreachable");
  }

  static testing::FakeModels* models_;
  static FacePipeline* real_pipeline_;
  static FaceServer* real_server_;
  static v1::FaceService::Stub* real_stub_;
  static testing::Harness* fake_;
};

testing::FakeModels* RequestValidationTest::models_ = nullptr;
FacePipeline* RequestValidationTest::real_pipeline_ = nullptr;
FaceServer* RequestValidationTest::real_server_ = nullptr;
v1::FaceService::Stub* RequestValidationTest::real_stub_ = nullptr;
testing::Harness* RequestValidationTest::fake_ = nullptr;

TEST_P(RequestValidationTest, ThroughTheRealPipelineWithFakeModels) {
  const Case& c = GetParam();
  Requests r = ValidRequests();
  c.spoil(&r);
  const grpc::Status status = Call(real_stub_, c, r);
  EXPECT_EQ(status.error_code(), c.code) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  // Client-chosen text is not echoed back without bound.
  EXPECT_LE(status.error_message().size(), 1024u);
}

TEST_P(RequestValidationTest, ThroughTheFakePipeline) {
  const Case& c = GetParam();
  Requests r = ValidRequests();
  c.spoil(&r);
  const int calls_before = fake_->pipeline.num_calls();
  const grpc::Status status = Call(fake_->stub.get(), c, r);
  switch (c.by) {
    case By::kService:
      // Rejected with the same code and message before the pipeline is called.
      EXPECT_EQ(status.error_code(), c.code) << status.error_message();
      EXPECT_THAT(status.error_message(), HasSubstr(c.message));
      EXPECT_EQ(fake_->pipeline.num_calls(), calls_before);
      break;
    case By::kPipeline:
    case By::kNobody:
      // The service lets it through to the pipeline (the fake answers OK).
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(fake_->pipeline.num_calls(), calls_before + 1);
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryField, RequestValidationTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// The table's controls must include an OK row per RPC, so that a server that
// rejects everything cannot pass.
TEST(RequestValidationTableTest, HasAValidControlForEveryRpc) {
  int ok[3] = {0, 0, 0};
  for (const Case& c : Cases()) {
    if (c.code == grpc::StatusCode::OK) ++ok[static_cast<int>(c.rpc)];
  }
  EXPECT_GT(ok[0], 0);
  EXPECT_GT(ok[1], 0);
  EXPECT_GT(ok[2], 0);
}

// A string field that is not UTF-8 makes the whole message unparsable for
// protobuf (proto3 `string`), so gRPC refuses it before the service runs,
// with the same UNIMPLEMENTED as any unparsable message (see below).
TEST(RequestValidationLimitsTest, PredictorNameThatIsNotUtf8IsRefusedByGrpc) {
  testing::Harness h;
  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded(Png(8, 8));
  request.mutable_options()->add_predictors("expr\xff\xfession");
  v1::AnalyzeResponse response;
  const grpc::Status status = h.stub->Analyze(ContextWithTimeout().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  EXPECT_EQ(h.pipeline.num_calls(), 0);
}

// A message larger than server.max_message_bytes is refused by gRPC itself.
TEST(RequestValidationLimitsTest, MessageOverMaxMessageBytesIsResourceExhausted) {
  Config config = LimitedConfig(testing::TestConfig());
  config.server.max_message_bytes = 64 * 1024;
  testing::Harness h(config);
  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded(std::string(64 * 1024 + 1, '\xff'));
  v1::AnalyzeResponse response;
  const grpc::Status status = h.stub->Analyze(ContextWithTimeout().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(h.pipeline.num_calls(), 0);
}

// Bytes that are not an AnalyzeRequest at all (sent with a generic stub).
TEST(RequestValidationLimitsTest, UnparsableMessageIsRejectedBeforeThePipeline) {
  testing::Harness h;
  grpc::GenericStub stub(h.channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  // Field 1 (image), length-delimited, claiming 100 bytes that are not there.
  grpc::ByteBuffer request = testing::ToByteBuffer(std::string("\x0a\x64\x0a", 3)), response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/faceserve.v1.FaceService/Analyze", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  // gRPC's own answer to a request it cannot deserialise: its callback API
  // (1.51, server_callback_handlers.h) fails the call with UNIMPLEMENTED and
  // no message before any handler of ours runs.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  EXPECT_EQ(h.pipeline.num_calls(), 0);
  // The server is unharmed.
  v1::AnalyzeRequest valid;
  valid.mutable_image()->set_encoded(Png(8, 8));
  v1::AnalyzeResponse answer;
  EXPECT_TRUE(h.stub->Analyze(ContextWithTimeout().get(), valid, &answer).ok());
}

}  // namespace
}  // namespace faceserve
