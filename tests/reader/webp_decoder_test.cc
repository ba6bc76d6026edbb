// DecodeWebpToRgb against OpenCV's imdecode (the decoder it replaces): the
// same pixels for lossy and lossless WebP, with and without alpha; animations,
// truncated and corrupt files an error, never a crash.
#include "core/reader/webp_decoder.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/reader/decoder_test_util.h"

namespace faceserve {
namespace {

using testing_util::ExpectSameAsOpenCv;
using testing_util::OpenCvEncode;
using testing_util::OpenCvRgb;
using testing_util::RandomImage;

struct WebpCase {
  std::string name;
  int type;     // CV_8UC3 or CV_8UC4 (with alpha)
  int quality;  // > 100: lossless
};

const WebpCase kCases[] = {{"lossy", CV_8UC3, 90},          {"lossy q5", CV_8UC3, 5},
                           {"lossless", CV_8UC3, 101},      {"lossy+alpha", CV_8UC4, 80},
                           {"lossless+alpha", CV_8UC4, 101}};

std::string MakeWebp(const WebpCase& c, int width, int height) {
  cv::Mat image = RandomImage(width, height, c.type, width * 31 + height);
  if (c.type == CV_8UC4) {
    // Some fully transparent pixels: their colour must survive (not blended).
    cv::Mat alpha(image.size(), CV_8U);
    cv::randu(alpha, 0, 256);
    alpha.rowRange(0, height / 2).setTo(0);
    cv::insertChannel(alpha, image, 3);
  }
  return OpenCvEncode(image, ".webp", {cv::IMWRITE_WEBP_QUALITY, c.quality});
}

TEST(WebpDecoderTest, SamePixelsAsOpenCvLossyLosslessAndAlpha) {
  for (const WebpCase& c : kCases) {
    for (const cv::Size size : {cv::Size(37, 23), cv::Size(1, 1), cv::Size(320, 240)}) {
      const std::string webp = MakeWebp(c, size.width, size.height);
      ExpectSameAsOpenCv(DecodeWebpToRgb(webp), webp,
                         c.name + " " + std::to_string(size.width) + "x" +
                             std::to_string(size.height));
    }
  }
}

void PutLe(std::string* s, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::string Chunk(const std::string& fourcc, const std::string& payload) {
  std::string c = fourcc;
  PutLe(&c, static_cast<uint32_t>(payload.size()), 4);
  c += payload;
  if (payload.size() % 2) c.push_back('\0');
  return c;
}

// A one-frame animation around a lossless frame: RIFF, VP8X with the
// animation flag, ANIM, ANMF.
std::string AnimatedWebp() {
  const std::string still = MakeWebp(kCases[2], 16, 8);
  const std::string frame = still.substr(12);  // the VP8L chunk
  std::string vp8x;
  PutLe(&vp8x, 0x02, 4);  // animation
  PutLe(&vp8x, 16 - 1, 3);
  PutLe(&vp8x, 8 - 1, 3);
  std::string anim;
  PutLe(&anim, 0, 4);  // background colour
  PutLe(&anim, 0, 2);  // loop forever
  std::string anmf;
  PutLe(&anmf, 0, 3), PutLe(&anmf, 0, 3);            // offset
  PutLe(&anmf, 16 - 1, 3), PutLe(&anmf, 8 - 1, 3);  // size
  PutLe(&anmf, 100, 3);                              // duration
  anmf.push_back('\0');                              // flags
  anmf += frame;
  const std::string body = "WEBP" + Chunk("VP8X", vp8x) + Chunk("ANIM", anim) + Chunk("ANMF", anmf);
  std::string riff = "RIFF";
  PutLe(&riff, static_cast<uint32_t>(body.size()), 4);
  return riff + body;
}

TEST(WebpDecoderTest, AnimationIsInvalidArgumentAsInOpenCv) {
  const std::string webp = AnimatedWebp();
  absl::StatusOr<cv::Mat> r = DecodeWebpToRgb(webp);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("animated"), std::string::npos) << r.status();
  EXPECT_TRUE(OpenCvRgb(webp).empty());
}

TEST(WebpDecoderTest, EveryTruncationIsInvalidArgument) {
  for (const WebpCase& c : kCases) {
    const std::string webp = MakeWebp(c, 64, 48);
    ASSERT_TRUE(DecodeWebpToRgb(webp).ok()) << c.name;
    for (size_t n = 0; n < webp.size(); n += (n < 64 || n + 16 > webp.size()) ? 1 : 5) {
      const std::string prefix = webp.substr(0, n);
      absl::StatusOr<cv::Mat> r = DecodeWebpToRgb(prefix);
      ASSERT_FALSE(r.ok()) << c.name << ": prefix of " << n << " of " << webp.size();
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("could not decode WebP image: ", 0), 0)
          << r.status();
    }
  }
}

// Corrupt bytes past the header: never a crash, and the same verdict and
// pixels as OpenCV (both call libwebp with default options).
TEST(WebpDecoderTest, CorruptFilesAgreeWithOpenCv) {
  std::mt19937 rng(3);
  for (const WebpCase& c : kCases) {
    const std::string webp = MakeWebp(c, 64, 48);
    for (int trial = 0; trial < 30; ++trial) {
      std::string bad = webp;
      for (int i = 0; i <= trial % 4; ++i) bad[32 + rng() % (bad.size() - 32)] ^= 1 << (rng() % 8);
      absl::StatusOr<cv::Mat> ours = DecodeWebpToRgb(bad);
      const cv::Mat theirs = OpenCvRgb(bad);
      ASSERT_EQ(ours.ok(), !theirs.empty()) << c.name << ": " << ours.status();
      if (ours.ok()) {
        EXPECT_EQ(cv::norm(*ours, theirs, cv::NORM_INF), 0) << c.name;
      } else {
        EXPECT_EQ(ours.status().code(), absl::StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(WebpDecoderTest, GarbageIsInvalidArgument) {
  for (const std::string& bytes :
       {std::string(), std::string("RIFF\x10\x00\x00\x00WEBPVP8 ", 16), std::string("garbage"),
        std::string("RIFF\x0c\x00\x00\x00WEBPVP8L\x00\x00\x00\x00", 20)}) {
    absl::StatusOr<cv::Mat> r = DecodeWebpToRgb(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  }
}

}  // namespace
}  // namespace faceserve
